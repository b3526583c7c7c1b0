/* fuzz_util.h - helpers the fuzz targets share: an input as a file for
 * loaders that take a path, and a repaired checksum so mutations reach
 * the parser behind it. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* data as the whole of a memory-backed file; returns its path
 * (/proc/self/fd/N), or NULL. One file per process, rewritten each call. */
static inline const char *fuzz_file(const uint8_t *data, size_t len)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", 0);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        return NULL;
    for (size_t off = 0; off < len;) {
        ssize_t w = pwrite(fd, data + off, len - off, (off_t)off);
        if (w <= 0)
            return NULL;
        off += (size_t)w;
    }
    return path;
}

/* With NN_FUZZ_FIXCRC=1: a malloc'd copy of data whose last 4 bytes are
 * the CRC-32 of the rest (little-endian), as model files and checkpoints
 * end. NULL otherwise (use data as it is). */
static inline uint8_t *fuzz_fix_crc(const uint8_t *data, size_t len)
{
    const char *e = getenv("NN_FUZZ_FIXCRC");
    if (!e || e[0] != '1' || len < 8)
        return NULL;
    uint8_t *copy = malloc(len);
    if (!copy)
        return NULL;
    memcpy(copy, data, len);
    uint32_t crc = nn_crc32(0, copy, len - 4);
    for (int i = 0; i < 4; i++)
        copy[len - 4 + i] = (uint8_t)(crc >> (8 * i));
    return copy;
}

#endif
