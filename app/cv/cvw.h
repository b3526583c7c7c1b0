/*
 * cvw.h - the C face of OpenCV. app/cv/ is the only C++ in the tree; every
 * function here is extern "C", catches every C++ exception, and reports
 * failure as a NULL or negative return with a one-line message readable
 * through cvw_error() (per thread). Handles are opaque.
 */
#ifndef CVW_H
#define CVW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Last error message of the calling thread ("" when none). */
const char *cvw_error(void);

#ifdef __cplusplus
}
#endif
#endif /* CVW_H */
