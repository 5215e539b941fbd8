# Tests make real H.264/H.265/AAC with libavcodec and read files back with
# libavformat. PkgConfig::LIBAV lives in src/'s directory scope, so look it up here.
if(NOT TARGET PkgConfig::HORUS_REC_TEST_LIBAV)
    pkg_check_modules(HORUS_REC_TEST_LIBAV REQUIRED IMPORTED_TARGET
        libavformat libavcodec libavutil)
endif()
target_link_libraries(${name} PRIVATE PkgConfig::HORUS_REC_TEST_LIBAV)
