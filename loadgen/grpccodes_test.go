package loadgen

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// The names follow gRPC's own list of codes (whose Go names spell
// CANCELLED the American way).
func TestGRPCCodeNames(t *testing.T) {
	if GRPCCodes != len(grpcCodeNames) || GRPCCodes != int(codes.Unauthenticated)+1 {
		t.Fatalf("%d codes, %d names; gRPC has %d", GRPCCodes, len(grpcCodeNames), int(codes.Unauthenticated)+1)
	}
	for c := range GRPCCodes {
		name := strings.ReplaceAll(GRPCCodeName(c), "_", "")
		goName := codes.Code(c).String()
		if !strings.EqualFold(name, goName) && !(c == int(codes.Canceled) && name == "CANCELLED") {
			t.Errorf("code %d: %s, gRPC calls it %s", c, GRPCCodeName(c), goName)
		}
	}
	if GRPCCodeName(17) != "" || GRPCCodeName(-1) != "" {
		t.Error("names for codes gRPC does not have")
	}
}

func TestKnownClass(t *testing.T) {
	for _, c := range []string{ClassRefused, ClassDropped, ClassOther, ClassNotServing, "resource_exhausted", "unauthenticated", "cancelled"} {
		if !KnownClass(c) {
			t.Errorf("KnownClass(%q) = false", c)
		}
	}
	for _, c := range []string{"", "ok", "code_17", "OTHER", "<script>", "resource exhausted"} {
		if KnownClass(c) {
			t.Errorf("KnownClass(%q) = true", c)
		}
	}
}
