/*
 * fuzz_model.c - fuzz entry point for the .model loader.
 *
 * With clang and -fsanitize=fuzzer (meson does this when the compiler
 * supports it, as `fuzz_model`), libFuzzer drives LLVMFuzzerTestOneInput.
 * Otherwise this builds as `fuzz_model_replay`, which runs the same entry
 * point on each file given as an argument: a crash found by a fuzzer can be
 * replayed under gcc and a debugger. Seed a corpus with any saved model.
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

static int last_loaded; /* for the replay driver's report */

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
    last_loaded = net != NULL;
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

#ifndef NN_LIBFUZZER
#include <stdio.h>

/* Replay: run the entry point on each file named on the command line. */
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        long size;
        uint8_t *buf;
        if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET) != 0) {
            fprintf(stderr, "fuzz_model: %s: cannot open\n", argv[i]);
            if (f)
                fclose(f);
            return 2;
        }
        buf = malloc(size ? (size_t)size : 1);
        if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
            fprintf(stderr, "fuzz_model: %s: cannot read\n", argv[i]);
            free(buf);
            fclose(f);
            return 2;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)size);
        printf("%s: %s\n", argv[i], last_loaded ? "loaded" : nn_error());
        free(buf);
    }
    return 0;
}
#endif
