# The web UI (web/, docs/design/0026-web-ui.md), included by src/CMakeLists.txt:
# Vite builds it into ${CMAKE_BINARY_DIR}/web-dist, and web/scripts/embed.mjs
# turns that into ${CMAKE_BINARY_DIR}/web_assets.c plus its blob web_assets.bin,
# which the api library compiles in. Without node or web/node_modules (or with
# -DHORUS_WEB=OFF) the api gets cmake/web_assets_none.c, an empty table: the
# binary then serves a page saying how to build the UI in.
#
# Sets HORUS_WEB_ASSETS_C (the source to compile) and the cache entry
# HORUS_WEB_BUILT (tests/CMakeLists.txt adds build.web_budget when ON).
set(HORUS_WEB_BUILT OFF CACHE INTERNAL "The web UI is embedded in this build")
set(HORUS_WEB_ASSETS_C ${CMAKE_SOURCE_DIR}/cmake/web_assets_none.c)
if(HORUS_WEB)
    set(web ${CMAKE_SOURCE_DIR}/web)
    find_program(HORUS_NODE NAMES node nodejs)
    if(NOT HORUS_NODE)
        message(WARNING "HORUS_WEB: node was not found, so this binary has no web UI (it serves "
                        "a page saying so). Install nodejs (scripts/setup), or configure with "
                        "-DHORUS_WEB=OFF to build without it on purpose.")
    elseif(NOT EXISTS ${web}/node_modules/vite/bin/vite.js)
        message(WARNING "HORUS_WEB: web/node_modules is missing, so this binary has no web UI. "
                        "Run scripts/setup (or `npm ci` in web/) and configure again.")
    else()
        file(GLOB_RECURSE web_inputs CONFIGURE_DEPENDS ${web}/src/* ${web}/public/*)
        list(FILTER web_inputs EXCLUDE REGEX "\\.test\\.ts$")
        list(APPEND web_inputs ${web}/index.html ${web}/package.json ${web}/package-lock.json
             ${web}/vite.config.ts ${web}/tsconfig.json)
        set(dist ${CMAKE_BINARY_DIR}/web-dist)
        set(stamp ${CMAKE_BINARY_DIR}/web-dist.stamp)
        add_custom_command(OUTPUT ${stamp}
            COMMAND ${CMAKE_COMMAND} -E env HORUS_WEB_OUT=${dist}
                    ${HORUS_NODE} ${web}/node_modules/vite/bin/vite.js build --logLevel warn
            COMMAND ${CMAKE_COMMAND} -E touch ${stamp}
            WORKING_DIRECTORY ${web}
            DEPENDS ${web_inputs}
            COMMENT "Building the web UI (vite) into web-dist"
            VERBATIM)
        add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/web_assets.c ${CMAKE_BINARY_DIR}/web_assets.bin
            COMMAND ${HORUS_NODE} ${web}/scripts/embed.mjs ${dist} ${CMAKE_BINARY_DIR}/web_assets.c
            DEPENDS ${stamp} ${web}/scripts/embed.mjs
            WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
            COMMENT "Embedding the web UI (gzip and brotli variants, ETags)"
            VERBATIM)
        set(HORUS_WEB_ASSETS_C ${CMAKE_BINARY_DIR}/web_assets.c)
        # .incbin pulls the blob in: a new blob must recompile the table.
        set_source_files_properties(${HORUS_WEB_ASSETS_C} PROPERTIES
            OBJECT_DEPENDS ${CMAKE_BINARY_DIR}/web_assets.bin)
        set(HORUS_WEB_BUILT ON CACHE INTERNAL "The web UI is embedded in this build")
    endif()
endif()
