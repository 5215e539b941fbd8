# The decoder's header is private to detect/object/.
target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src/detect/object)
