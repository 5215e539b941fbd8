# The pool runs the real onnx detector (the model scripts/deps-detect converted)
# on real H.264 made with libavcodec (tests/unit/record/media_gen.h).
if(NOT TARGET PkgConfig::HORUS_REC_TEST_LIBAV)
    pkg_check_modules(HORUS_REC_TEST_LIBAV REQUIRED IMPORTED_TARGET
        libavformat libavcodec libavutil)
endif()
target_link_libraries(${name} PRIVATE PkgConfig::HORUS_REC_TEST_LIBAV)
target_compile_definitions(${name} PRIVATE HORUS_DEPS_DIR="${HORUS_DEPS_DIR}"
    HORUS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
