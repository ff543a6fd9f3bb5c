# vitals: common tasks. The scripts do the work; see scripts/ and bench/.
SHELL := /bin/bash

.PHONY: build release test demo bench chaos clean distclean

build:
	swift build

release:
	swift build -c release

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench:
	bash scripts/install-deps.sh --bench && bash bench/ingest.sh && bash bench/accuracy.sh

# Rotation, scrape-load, cardinality and soak cases too long for CI (SOAK_SECONDS=1800).
chaos:
	bash scripts/chaos.sh

# Stops any leftover private servers, then removes build products and scratch dirs.
clean:
	-bash scripts/test-servers.sh stop .test-servers 2>/dev/null
	-bash scripts/test-servers.sh stop .demo 2>/dev/null
	swift package clean
	rm -rf bench/out .demo .test-servers

# clean, plus the whole .build directory (package checkouts included).
distclean: clean
	rm -rf .build
