/* The UI table of a binary built without the UI (HORUS_WEB=OFF or no node). */
#include "web_assets.h"

const unsigned char horus_web_blob[1] = {0};
const struct web_asset web_assets[1] = {{0}};
const size_t web_nassets = 0;
const size_t web_blob_len = 0;
