# The test reads the stream back with its own libnats client.
target_link_libraries(${name} PRIVATE PkgConfig::NATS)
