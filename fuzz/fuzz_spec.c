/* fuzz_spec.c - fuzz entry point for the architecture spec parser
 * (nn_net_from_spec; --arch FILE and every model file carry one). The
 * first byte picks the class count, the rest is the spec text. A spec
 * that builds must describe itself (nn_net_spec) in a form that builds
 * again to the same parameter count. Built as fuzz_spec (libFuzzer) and
 * fuzz_spec_replay; see fuzz_model.c.
 *
 * A valid spec of a huge net (conv 800 on 48x48 into a dense layer: 118M
 * weights) is built as asked, which is --arch's contract, not a parser
 * bug; so only nets of up to 16M parameters are built here (the parser and
 * the counting run on every input). The model loader compares the counts
 * with its PARM section before building, so a small file cannot ask for
 * such a net (fuzz_model). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "nn_impl.h" /* nn_spec_counts */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1 || len > 4096)
        return 0;
    int k = 1 + data[0] % NN_MAX_CLASSES;
    char *text = malloc(len);
    if (!text)
        return 0;
    memcpy(text, data + 1, len - 1);
    text[len - 1] = 0;
    size_t np = 0, ns = 0;
    nn_net *net = NULL;
    if (nn_spec_counts(text, k, &np, &ns) == 0 && np <= (16u << 20))
        net = nn_net_from_spec(text, k);
    if (net) {
        nn_net *again = nn_net_from_spec(nn_net_spec(net), k);
        if (!again || nn_net_n_params(again) != nn_net_n_params(net))
            abort();
        nn_net_free(again);
        nn_net_free(net);
    }
    free(text);
    return 0;
}
