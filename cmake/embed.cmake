# Writes OUT as a C file defining `const char SYM[]` with the bytes of IN.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
math(EXPR len "${n} / 2")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n#include <stddef.h>\n"
    "extern const char ${SYM}[];\nextern const size_t ${SYM}_len;\n"
    "const char ${SYM}[] = {\n${body}0x00};\nconst size_t ${SYM}_len = ${len};\n")
