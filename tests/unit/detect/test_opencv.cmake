# The opencv detector's test decodes vtest.avi frames (tools/detect/vframes.c),
# reads the models scripts/deps-detect converted, compares with the onnx
# backend and reads onnx_proto_int.h (private to detect/object/).
target_link_libraries(${name} PRIVATE horus_vframes)
target_compile_definitions(${name} PRIVATE HORUS_DEPS_DIR="${HORUS_DEPS_DIR}")
target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src/detect/object)
