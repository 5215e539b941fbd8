/*
 * Error codes shared by every module (docs/conventions.md §4).
 *
 * A call that can fail returns int: 0 on success, a negative code on failure.
 * System failures are -errno; project codes sit below -1000 so the two never
 * collide. horus_strerror() renders either kind.
 */
#ifndef HORUS_ERR_H
#define HORUS_ERR_H

enum {
    HORUS_EPARSE = -1001, /* malformed input: YAML, JSON, query string */
    HORUS_ECONFIG = -1002, /* input parsed but failed validation */
    HORUS_ECODEC = -1003, /* unsupported or broken media */
    HORUS_EMETHOD = -1004, /* HTTP method not allowed on an existing route */
    HORUS_ETOOBIG = -1005, /* request body or value over its limit */
    HORUS_EDB = -1006, /* database error not mapped to errno */
    HORUS_ESTOPPED = -1007, /* the object is shutting down */
    HORUS_EAUTH = -1008, /* missing or wrong credentials */
    HORUS_EUNAVAIL = -1009, /* dependency not ready (database, disk) */
    HORUS_EDBBUSY = -1010, /* database locked by another writer past the busy timeout */
    HORUS_ELIMIT = -1011, /* a rate limit refused the request; retry later */
    HORUS_EMEDIATYPE = -1012, /* request body of a media type the route does not take */
    HORUS_EMISDIRECTED = -1013, /* request for a host name this server does not answer to */
    HORUS_EDISABLED = -1014, /* a feature this node's configuration turns off */
    HORUS_EFENCED = -1015, /* a write for a camera whose lease moved to another node */
};

/*
 * Returns a static English description of rc, for either -errno or a
 * HORUS_E* code. Thread: any.
 */
const char *horus_strerror(int rc);

/* Returns the short symbolic name ("ENOENT", "HORUS_EPARSE") of rc. */
const char *horus_errname(int rc);

#endif
