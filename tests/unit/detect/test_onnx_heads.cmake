# The heads' end-to-end test writes synthetic models with
# tools/modelconv/synth_heads.py (python3, standard library only).
target_compile_definitions(${name} PRIVATE HORUS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
