/*
 * Error-text helper of the identity module (see auth_err_int.h).
 * Thread: any.
 */
#include "auth_err_int.h"

#include <stdarg.h>
#include <stdio.h>

void auth_set_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || !err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}
