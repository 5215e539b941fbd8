# The test reads the JSON lines the logger writes back with jansson; base
# itself writes JSON by hand and links no third-party library.
target_link_libraries(${name} PRIVATE PkgConfig::JANSSON)
