# The accuracy regression test decodes the labelled vtest.avi frames
# (tools/detect/vframes.c), reads tests/data/vtest-persons*.json with jansson
# and runs the model scripts/deps-detect converted.
target_link_libraries(${name} PRIVATE horus_vframes PkgConfig::JANSSON)
target_compile_definitions(${name} PRIVATE HORUS_DEPS_DIR="${HORUS_DEPS_DIR}"
                           HORUS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
