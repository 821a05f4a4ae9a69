# The two commands of the README: `make cluster` starts a local 3-node cluster
# and `make test` builds and runs every test. Both install missing Debian
# packages first.
BUILD      ?= build
TEST_BUILD ?= build/asan
JOBS       ?= $(shell nproc)
# Scales the seeded simulation and crash tests; 1 is what CI runs.
RKV_TEST_SCALE ?= 1
export RKV_TEST_SCALE
# ccache (CMakeLists.txt uses it when present): paths relative to the checkout
# and no hashing of the build directory (the test build has debug info), so a
# fresh clone in another folder, as CI builds, reuses what earlier builds
# compiled.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps build test test-sim test-build bench cluster stop clean

all: build

deps:
	@bash deploy/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(TEST_BUILD)/build.ninja:
	cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRKV_SANITIZE=ON

test-build: deps $(TEST_BUILD)/build.ninja
	cmake --build $(TEST_BUILD) -j $(JOBS)

# Builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs every
# test: unit, simulator, crash, integration, the jepsen smoke run and the
# deploy/ checks. make test-sim runs only the simulator's.
test: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS)

test-sim: test-build
	cd $(TEST_BUILD) && ctest --output-on-failure -j $(JOBS) -L sim

# A 3-node cluster on 127.0.0.1 (clients 7001-7003), data under ./data.
cluster: build
	@bash deploy/local-cluster.sh start

stop:
	@bash deploy/local-cluster.sh stop

# Benchmarks run on the optimized build, never in CI.
bench: build
	$(BUILD)/bin/raft_bench

clean:
	rm -rf $(BUILD)
