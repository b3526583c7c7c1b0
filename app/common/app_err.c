/* app_err.c - the per-thread message of app_err.h. */
#include "app_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Room for two full paths and a reason (outpath.c names both files of a
 * clash), so no message is cut. */
#define APP_ERR_MAX 8448

static _Thread_local char app_err_buf[APP_ERR_MAX];

/* Formatted apart first: app_fail("context: %s", app_error()) reads the
 * buffer it writes. */
static void app_err_set(const char *fmt, va_list ap)
{
    char tmp[APP_ERR_MAX];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    memcpy(app_err_buf, tmp, strlen(tmp) + 1);
}

int app_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    app_err_set(fmt, ap);
    va_end(ap);
    return -1;
}

void *app_fail_null(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    app_err_set(fmt, ap);
    va_end(ap);
    return NULL;
}

const char *app_error(void) { return app_err_buf; }
