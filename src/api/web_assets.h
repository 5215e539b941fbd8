/*
 * Private to src/api: the UI files built into the binary. The table is
 * generated at build time by web/scripts/embed.mjs (build/.../web_assets.c,
 * its bytes in one blob pulled in with .incbin), or is empty when the
 * build has no UI (HORUS_WEB=OFF, or no node): web.c then serves a page
 * saying how to build it. docs/design/0026-web-ui.md.
 */
#ifndef HORUS_WEB_ASSETS_H
#define HORUS_WEB_ASSETS_H

#include <stddef.h>
#include <stdint.h>

/* One encoding of a file: bytes [offset, offset + len) of horus_web_blob. */
struct web_variant {
    uint32_t offset;
    uint32_t len;
    const char *etag; /* strong, with its quotes; NULL = no such variant */
};

struct web_asset {
    const char *path; /* relative to the UI root: "index.html", "assets/index-abc.js" */
    struct web_variant v[3]; /* indexed by enum web_encoding; identity always present */
};

/* Sorted by path (strcmp order). */
extern const struct web_asset web_assets[];
extern const size_t web_nassets; /* 0: this binary has no UI */
extern const size_t web_blob_len;
extern const unsigned char horus_web_blob[] __attribute__((visibility("hidden")));

#endif
