# The motion test decodes vtest.avi frames (tools/detect/vframes.c).
target_link_libraries(${name} PRIVATE horus_vframes)
target_compile_definitions(${name} PRIVATE HORUS_DEPS_DIR="${HORUS_DEPS_DIR}")
