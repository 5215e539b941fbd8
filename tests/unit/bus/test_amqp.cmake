# The test reads the queues back with its own librabbitmq client.
target_link_libraries(${name} PRIVATE PkgConfig::RABBITMQ)
