/* Build identity, compiled into base once so every module reports the same. */
#ifndef HORUS_VERSION_H
#define HORUS_VERSION_H

/* "0.1.0". Static. */
const char *horus_version(void);
/* `git describe` of the source tree at configure time, or "unknown". Static. */
const char *horus_git_describe(void);

#endif
