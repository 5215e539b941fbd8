# Real media from libavcodec, read back with libavformat, and pwritev wrapped
# to inject ENOSPC and short writes (docs/conventions.md §10).
if(NOT TARGET PkgConfig::HORUS_REC_TEST_LIBAV)
    pkg_check_modules(HORUS_REC_TEST_LIBAV REQUIRED IMPORTED_TARGET
        libavformat libavcodec libavutil)
endif()
target_link_libraries(${name} PRIVATE PkgConfig::HORUS_REC_TEST_LIBAV)
target_link_options(${name} PRIVATE -Wl,--wrap=pwritev)
