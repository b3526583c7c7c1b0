/*
 * fuzz_model.c - fuzz entry point for the .model loader.
 *
 * With clang and -fsanitize=fuzzer (meson does this when the compiler
 * supports it, as `fuzz_model`; see fuzz/fuzz.sh), libFuzzer drives
 * LLVMFuzzerTestOneInput. Otherwise it is linked with fuzz_replay.c as
 * `fuzz_model_replay`, which runs the entry point on files and corpus
 * folders (meson test replays fuzz/corpus/model).
 *
 * Set NN_FUZZ_FIXCRC=1 to repair the size field and checksum of each input
 * before loading, so mutations reach the section parser instead of dying at
 * the CRC check (libFuzzer rarely guesses a CRC).
 */
#include "nn_impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static int fix = -1;
    uint8_t *copy = NULL;
    nn_net *net;

    if (fix < 0) {
        const char *e = getenv("NN_FUZZ_FIXCRC");
        fix = e && e[0] == '1';
    }
    if (fix && len >= 24 && (copy = malloc(len))) {
        memcpy(copy, data, len);
        for (int i = 0; i < 8; i++) /* u64 LE file size at offset 12 */
            copy[12 + i] = (uint8_t)((uint64_t)len >> (8 * i));
        uint32_t crc = nn_crc32(0, copy, len - 4);
        for (int i = 0; i < 4; i++)
            copy[len - 4 + i] = (uint8_t)(crc >> (8 * i));
        data = copy;
    }
    net = nn_net_load_mem(data, len);
    if (net) {
        /* A loaded net must be usable: saving it again must work. */
        size_t n;
        void *again = nn_net_save_mem(net, &n);
        if (!again)
            abort();
        free(again);
        nn_net_free(net);
    }
    free(copy);
    return 0;
}
