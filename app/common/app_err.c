/* app_err.c - the per-thread message of app_err.h. */
#include "app_err.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char app_err_buf[512];

static void app_err_set(const char *fmt, va_list ap)
{
    vsnprintf(app_err_buf, sizeof app_err_buf, fmt, ap);
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
