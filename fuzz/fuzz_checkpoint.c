/* fuzz_checkpoint.c - fuzz entry point for the training checkpoint loader
 * (app/train/checkpoint.c), which --resume feeds with any file. A loaded
 * checkpoint's model image goes on to the model loader, as --resume does.
 * NN_FUZZ_FIXCRC=1 repairs the trailing checksum so mutations reach the
 * fields behind it. Built as fuzz_checkpoint (libFuzzer) and
 * fuzz_checkpoint_replay; see fuzz_model.c. */
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    uint8_t *fixed = fuzz_fix_crc(data, len);
    const char *path = fuzz_file(fixed ? fixed : data, len);
    checkpoint_state s;
    memset(&s, 0, sizeof s);
    if (path && checkpoint_load(path, &s) == 0) {
        nn_net *net = nn_net_load_mem(s.model, s.model_len);
        nn_net_free(net);
    }
    checkpoint_free(&s);
    free(fixed);
    return 0;
}
