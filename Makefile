# The two commands a newcomer needs (README): `make demo` and `make test`.
# Both run scripts/setup first, which installs Debian packages if missing.
.PHONY: all setup build demo test unit asan tsan fuzz bench-http clean format

PRESET ?= release
JOBS ?= $(shell nproc)

all: build

setup:
	@scripts/setup

build: setup
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

demo: build
	@scripts/demo

test: setup
	@scripts/test

# Faster loops for developers.
unit:
	@cmake --preset debug >/dev/null && cmake --build --preset debug -j $(JOBS) && ctest --preset debug -L unit

asan:
	@cmake --preset asan >/dev/null && cmake --build --preset asan -j $(JOBS) && ctest --preset asan -L unit

tsan:
	@cmake --preset tsan >/dev/null && cmake --build --preset tsan -j $(JOBS) && ctest --preset tsan -L 'unit|smoke'

fuzz:
	@cmake --preset fuzz >/dev/null && cmake --build --preset fuzz -j $(JOBS) && ctest --test-dir build/fuzz -L fuzz --output-on-failure

bench-http: build
	@bench/http/run

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
