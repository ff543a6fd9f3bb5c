# vitals: common tasks. The scripts do the work; see scripts/ and bench/.
SHELL := /bin/bash

.PHONY: build release shipped test demo bench chaos clean distclean

build:
	swift build

release:
	swift build -c release

# The build the container image ships (deploy/Dockerfile), stripped into .build-static/vitals; the
# unstripped binary stays in .build-static/release/ for profiles. bench/cost-to-run.sh measures it.
# How it is linked, and why: scripts/build-shipped.sh.
shipped:
	bash scripts/build-shipped.sh .build-static

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

# Everything in BENCHMARKS.md: ingest and accuracy against mtail, native-histogram accuracy from a
# real Prometheus, live tailing at 200k lines/s, the combined run against both exporters, and the
# per-source runs. Installs what it needs.
bench:
	bash scripts/install-deps.sh --bench && bash bench/ingest.sh && bash bench/accuracy.sh
	python3 bench/live-tail.py .build/release/vitals
	bash bench/combined.sh
	bash bench/cost-to-run.sh
	bash bench/postgres.sh
	bash bench/redis.sh
	$(MAKE) bench-micro

# Micro-benchmarks of the hot paths (exposition of 100k series, histogram observe, Redis INFO parse) with allocations.
bench-micro:
	cd Benchmarks && swift package --disable-sandbox benchmark --format markdown

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
	rm -rf .build .build-static
