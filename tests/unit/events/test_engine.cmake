# The engine's test runs frames of vtest.avi (tools/detect/vframes.c) through
# the observer and writes real JPEG snapshots into a real index database.
target_link_libraries(${name} PRIVATE horus_vframes)
target_compile_definitions(${name} PRIVATE HORUS_DEPS_DIR="${HORUS_DEPS_DIR}")
