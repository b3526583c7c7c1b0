/* paths.h - where the programs find their data files (model, cascades,
 * font, demo clip): the source tree when run from a build directory, the
 * install prefix's data directory otherwise. */
#ifndef ED_PATHS_H
#define ED_PATHS_H

#include <stddef.h>

/* Path of data file `rel` (e.g. "models/default.model") under the first of
 * $EMOTION_DATADIR, the source tree and the install data directory that has
 * it; when none has it, the install path (so messages name a real place).
 * Writes into buf and returns it. */
const char *paths_data(const char *rel, char *buf, size_t len);

/* paths_data("models/default.model") in a static buffer. */
const char *paths_default_model(void);

#endif
