/* fuzz_spec.c - fuzz entry point for the architecture spec parser
 * (nn_net_from_spec; --arch FILE and every model file carry one). The
 * first byte picks the class count, the rest is the spec text. A spec
 * that builds must describe itself (nn_net_spec) in a form that builds
 * again to the same parameter count. Built as fuzz_spec (libFuzzer) and
 * fuzz_spec_replay; see fuzz_model.c. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

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
    nn_net *net = nn_net_from_spec(text, k);
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
