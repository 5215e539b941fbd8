# The test makes AAC with libavcodec's encoder and decodes the Opus back with
# its decoder. PkgConfig::LIBAV lives in src/'s directory scope: look it up here.
if(NOT TARGET PkgConfig::HORUS_OPUS_TEST_LIBAV)
    pkg_check_modules(HORUS_OPUS_TEST_LIBAV REQUIRED IMPORTED_TARGET libavcodec libavutil)
endif()
target_link_libraries(${name} PRIVATE PkgConfig::HORUS_OPUS_TEST_LIBAV m)
