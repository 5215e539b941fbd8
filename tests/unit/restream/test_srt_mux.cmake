# Real H.264 and AAC made with libavcodec (tests/unit/record/media_gen.h) go through the TS muxer.
if(NOT TARGET PkgConfig::HORUS_REC_TEST_LIBAV)
    pkg_check_modules(HORUS_REC_TEST_LIBAV REQUIRED IMPORTED_TARGET
        libavformat libavcodec libavutil)
endif()
target_link_libraries(${name} PRIVATE PkgConfig::HORUS_REC_TEST_LIBAV)
