# Shared compile settings and helpers for every Horus target.

# C-only warnings apply to C only (src/detect/object/opencv.cpp is C++).
set(HORUS_WARNINGS -Wall -Wextra -Wshadow $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes> -Wformat=2
    -Wvla $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes> -Wno-unused-parameter)
if(HORUS_WERROR)
    list(APPEND HORUS_WARNINGS -Werror)
endif()

add_compile_definitions(_GNU_SOURCE)
add_compile_options(${HORUS_WARNINGS} -fno-omit-frame-pointer)
if(HORUS_SANITIZE)
    add_compile_options(-fsanitize=${HORUS_SANITIZE} -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${HORUS_SANITIZE})
endif()
# Fuzz builds instrument every library for coverage, not just the driver.
if(HORUS_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
# Backtraces on crash name functions only when symbols are exported.
add_link_options(-rdynamic)

execute_process(COMMAND git describe --always --dirty --tags
                WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                OUTPUT_VARIABLE HORUS_GIT_DESCRIBE OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET)
if(NOT HORUS_GIT_DESCRIBE)
    set(HORUS_GIT_DESCRIBE "unknown")
endif()

# horus_embed(<target-var> <symbol> <file>): turn a text file into a C string
# `const char <symbol>[]` so the binary carries it (SQL migrations, OpenAPI).
function(horus_embed out_var symbol file)
    get_filename_component(abs ${file} ABSOLUTE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/embed_${symbol}.c)
    add_custom_command(OUTPUT ${out}
        COMMAND ${CMAKE_COMMAND} -DIN=${abs} -DOUT=${out} -DSYM=${symbol}
                -P ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
        DEPENDS ${abs} ${CMAKE_SOURCE_DIR}/cmake/embed.cmake
        COMMENT "Embedding ${file}")
    set(${out_var} ${out} PARENT_SCOPE)
endfunction()
