/*
 * DESIGN: one table of project error codes, rendered next to strerror(3) for
 * system codes. No allocation, no locale: safe from any thread.
 */
#include "err.h"

#include <errno.h>
#include <string.h>

static const struct {
    int code;
    const char *name;
    const char *text;
} horus_errors[] = {
    {HORUS_EPARSE, "HORUS_EPARSE", "malformed input"},
    {HORUS_ECONFIG, "HORUS_ECONFIG", "invalid configuration"},
    {HORUS_ECODEC, "HORUS_ECODEC", "unsupported or broken media"},
    {HORUS_EMETHOD, "HORUS_EMETHOD", "method not allowed"},
    {HORUS_ETOOBIG, "HORUS_ETOOBIG", "input too large"},
    {HORUS_EDB, "HORUS_EDB", "database error"},
    {HORUS_ESTOPPED, "HORUS_ESTOPPED", "shutting down"},
    {HORUS_EAUTH, "HORUS_EAUTH", "authentication failed"},
    {HORUS_EUNAVAIL, "HORUS_EUNAVAIL", "dependency unavailable"},
    {HORUS_EDBBUSY, "HORUS_EDBBUSY", "database busy"},
    {HORUS_ELIMIT, "HORUS_ELIMIT", "too many requests"},
    {HORUS_EMEDIATYPE, "HORUS_EMEDIATYPE", "unsupported media type"},
    {HORUS_EMISDIRECTED, "HORUS_EMISDIRECTED", "misdirected request"},
    {HORUS_EDISABLED, "HORUS_EDISABLED", "turned off in the configuration"},
    {HORUS_EFENCED, "HORUS_EFENCED", "the camera's lease moved to another node"},
};

const char *horus_strerror(int rc)
{
    if (rc >= 0)
        return "success";
    for (size_t i = 0; i < sizeof(horus_errors) / sizeof(horus_errors[0]); i++)
        if (horus_errors[i].code == rc)
            return horus_errors[i].text;
    if (rc > -1000)
        return strerrordesc_np(-rc) ? strerrordesc_np(-rc) : "unknown error";
    return "unknown error";
}

const char *horus_errname(int rc)
{
    if (rc >= 0)
        return "OK";
    for (size_t i = 0; i < sizeof(horus_errors) / sizeof(horus_errors[0]); i++)
        if (horus_errors[i].code == rc)
            return horus_errors[i].name;
    if (rc > -1000 && strerrorname_np(-rc))
        return strerrorname_np(-rc);
    return "EUNKNOWN";
}
