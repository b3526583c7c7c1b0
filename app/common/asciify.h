/* asciify.h - text for OpenCV's built-in (Hershey) fonts, which draw only
 * ASCII: class names and paths in the report pictures are UTF-8, and each
 * byte beyond ASCII was drawn as '?' ("colère" as "col??re"). */
#ifndef ED_ASCIIFY_H
#define ED_ASCIIFY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* utf8 as ASCII into out (cap bytes, always terminated): accented Latin
 * letters as their base letter ("colère" -> "colere", "Straße" ->
 * "Strasse"), a no-break space as a space, any other character beyond
 * ASCII (or a byte that is no valid UTF-8) as one '?'. Returns the length
 * written. */
size_t asciify(const char *utf8, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
