# meshperf — see README.md
GO        ?= go
BIN       := bin/meshperf
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/meshperf/meshperf/internal/cli.Version=$(VERSION)

.PHONY: all build image run demo web test test-short test-web vet fmt-check fuzz bench proto clean

all: build

GO_SRC := $(shell find . -name '*.go' -not -path './web/*' -not -path './bench/.bin/*' 2>/dev/null) go.mod go.sum

# The binary embeds the web UI (web/dist), built first when its sources
# changed; it is rebuilt only when a Go source, go.mod or the UI changed.
# scripts/build.sh says what the (long) first build does and shows progress.
build: $(BIN)

$(BIN): web/dist/index.html $(GO_SRC)
	@GO=$(GO) ./scripts/build.sh $(BIN) '$(LDFLAGS)'

# A container image of meshperf without Docker: a static build (CGO_ENABLED=0)
# packed by `meshperf image` into an OCI image tarball, bin/meshperf-image.tar,
# tagged as `meshperf agent deploy` expects by default (IMAGE_ARGS adds
# flags, e.g. IMAGE_ARGS='--tag registry.example/meshperf:v1 --format docker').
# Load it with `ctr -n k8s.io images import`, `skopeo copy oci-archive:...`
# or push it with crane (docs/kube.md).
IMAGE_ARGS ?=
image: web/dist/index.html $(GO_SRC)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o bin/meshperf-static ./cmd/meshperf
	./bin/meshperf-static image --out bin/meshperf-image.tar $(IMAGE_ARGS)

# The main job: meshperf's server with its web UI and a built-in echo
# target (127.0.0.1:8079), on the embedded store (SQLite), nothing else
# needed. Open the URL it prints last, press Run on the New test page;
# Ctrl-C stops it. The first run builds everything (about 15 minutes on 2
# cores, see README); later ones start at once. RUN_ARGS adds server flags.
RUN_ARGS ?=
run: build
	@./$(BIN) server --echo $(RUN_ARGS)

# The command-line version: a 10-second fixed-rate test against meshperf's
# own echo target, report on the terminal.
demo: build
	./scripts/demo.sh $(BIN)

WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json web/package.json

# npm's notices (update, funding, audit) are off here and in web/.npmrc.
NPM := npm --no-update-notifier --no-fund --no-audit

web/node_modules/.package-lock.json: web/package-lock.json
	@[ -x $(BIN) ] || echo "meshperf build: first build: the web UI's npm packages, then the Go modules and every package (about 15 minutes on 2 cores, most of it compiling the pure-Go SQLite; later starts take seconds)" >&2
	@echo "meshperf build: installing the web UI's packages (npm ci)..." >&2
	@cd web && $(NPM) ci --loglevel=error

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	@echo "meshperf build: building the web UI (vite)..." >&2
	@cd web && $(NPM) run --silent build

web: web/dist/index.html

# Everything CI runs: formatting, vet, and every test (slow ones included),
# the store's against a real PostgreSQL that scripts/test.sh starts.
test: fmt-check vet
	./scripts/test.sh

test-short:
	$(GO) test -short -count=1 ./...

# The UI alone: Vitest, then the browser end-to-end suite (scripts/test.sh runs it too).
test-web:
	./scripts/web-test.sh

# GATEWAY-HTTP against Traefik on the test node (root; docs/conformance.md,
# "GATEWAY-HTTP against Traefik"): builds Traefik and CoreDNS from source the
# first time (Traefik: 14 minutes of CPU), so CI only vets it. Set
# MESHPERF_TRAEFIK_REPORT_OUT=FILE to keep the suite's report.
.PHONY: conformance-traefik
conformance-traefik:
	MESHPERF_KUBE_TEST=1 $(GO) test -tags traefiknode -run TestTraefikNode ./internal/conformance -timeout 60m -v

# meshperf's SMI test set against Traefik Mesh v1.4.8 on the test node
# (root; docs/conformance.md, "SMI against Traefik Mesh").
.PHONY: conformance-traefikmesh
conformance-traefikmesh:
	MESHPERF_KUBE_TEST=1 $(GO) test -tags traefikmeshnode -run TestTraefikMeshNode ./internal/conformance -timeout 90m -v

# Regenerate the agent protocol's Go code from proto/ (CI checks it is current).
proto:
	./scripts/protogen.sh

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
	find web/dist -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true
