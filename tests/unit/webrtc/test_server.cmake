# The peer is tools/whepload's (peer.c): the same viewer the 50-viewer test and the bench use.
target_sources(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tools/whepload/peer.c)
target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tools/whepload)
