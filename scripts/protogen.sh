#!/bin/sh
# Regenerates the Go code of proto/ into internal/agentpb.
#
#   scripts/protogen.sh          regenerate in place
#   scripts/protogen.sh --check  regenerate into a temporary directory and
#                                fail, showing the diff, if the checked-in
#                                code differs
#
# Needs protoc (apt-get install -y protobuf-compiler); installs the two Go
# plugins at the pinned versions into $GOBIN (default ~/go/bin) if missing.
set -eu

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v protoc >/dev/null 2>&1 || { echo "protogen: protoc not found (apt-get install -y protobuf-compiler)" >&2; exit 1; }

gobin=${GOBIN:-$(go env GOPATH | cut -d: -f1)/bin}
plugin_version() { # binary -> version it reports, empty if absent
	[ -x "$gobin/$1" ] || return 0
	"$gobin/$1" --version 2>/dev/null | awk '{print $NF}'
}
if [ "$(plugin_version protoc-gen-go)" != "$PROTOC_GEN_GO_VERSION" ]; then
	GOBIN=$gobin GOFLAGS= go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi
if [ "$(plugin_version protoc-gen-go-grpc)" != "${PROTOC_GEN_GO_GRPC_VERSION#v}" ] && [ "$(plugin_version protoc-gen-go-grpc)" != "$PROTOC_GEN_GO_GRPC_VERSION" ]; then
	GOBIN=$gobin GOFLAGS= go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
fi

out=internal/agentpb
gen() { # dir
	protoc -I proto \
		--plugin=protoc-gen-go="$gobin/protoc-gen-go" \
		--plugin=protoc-gen-go-grpc="$gobin/protoc-gen-go-grpc" \
		--go_out="$1" --go_opt=paths=source_relative \
		--go-grpc_out="$1" --go-grpc_opt=paths=source_relative \
		proto/meshperf/agent/v1/agent.proto
	# One flat package: move the generated files out of the proto path.
	mv "$1"/meshperf/agent/v1/*.go "$1"/
	rm -r "$1/meshperf"
}

case "${1:-}" in
--check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	gen "$tmp"
	if ! diff -ru -I '^//.*protoc  *v[0-9]' "$out" "$tmp" -x '*_test.go' -x 'doc.go'; then
		echo "protogen: $out differs from proto/ (run scripts/protogen.sh and commit the result)" >&2
		exit 1
	fi
	echo "protogen: $out is up to date"
	;;
"")
	mkdir -p "$out"
	rm -f "$out"/*.pb.go
	gen "$out"
	echo "protogen: wrote $out"
	;;
*)
	echo "usage: scripts/protogen.sh [--check]" >&2
	exit 2
	;;
esac
