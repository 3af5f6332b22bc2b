# meshperf — see README.md
GO        ?= go
BIN       := bin/meshperf
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/meshperf/meshperf/internal/cli.Version=$(VERSION)

.PHONY: all build run test test-short vet fmt-check fuzz bench clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/meshperf

# The main job: a 10-second fixed-rate test against meshperf's own echo
# target, both on this machine, nothing else needed.
run: build
	./scripts/demo.sh $(BIN)

# Everything CI runs: formatting, vet, and every test (slow ones included),
# the store's against a real PostgreSQL that scripts/test.sh starts.
test: fmt-check vet
	./scripts/test.sh

test-short:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Run each fuzzer for a while (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# Speed and memory against nginx, wrk and fortio (writes bench/out/latest.md),
# then the store's scale benchmark (10,000 results in SQLite).
bench:
	./bench/run.sh
	mkdir -p bench/out
	$(GO) test -run '^$$' -bench . -count 5 ./store/sqlite/ | tee bench/out/store.txt
	$(GO) test -run '^$$' -bench APIUnderLoad -benchtime 3x -count 3 ./internal/server/ | tee bench/out/api.txt

clean:
	rm -rf bin test-output bench/out
