/* app_err.h - the one error convention of app/, after the engine's nn_fail:
 * a function that can fail returns a status (-1, NULL, or an enum's error
 * value) and leaves a one-line message, readable with app_error() on the
 * same thread; the caller that decides to stop prints it once (cli_err in
 * cli.h adds the program name). Library code in app/ never prints errors
 * itself; problems that are not errors (skipped items) are kept for the
 * caller to report (app/README.md says why not a callback).
 *
 *     if (load_thing(path) < 0) { cli_err("%s", app_error()); return CLI_EXIT_FAIL; }
 *
 * Engine calls set nn_error(), not app_error(): a function of app/ that
 * passes an engine failure up copies it with app_fail("%s", nn_error()),
 * and one that adds context to a message of app/ may pass app_error()
 * itself: app_fail("record: %s", app_error()). */
#ifndef APP_ERR_H
#define APP_ERR_H

/* Set this thread's message; returns -1 so that `return app_fail(...)`
 * ends an int function. */
int app_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same for functions returning a pointer: returns NULL. */
void *app_fail_null(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* This thread's last message ("" if none was set). */
const char *app_error(void);

#endif
