package native_test

import (
	"os"
	"testing"

	"github.com/meshperf/meshperf/internal/echo"
	"github.com/meshperf/meshperf/loadgen"
)

// A descriptor set given inline (as a server passes a profile's
// grpc_descriptor_set_base64, or a file it read under --allow-files) is the
// same as the file.
func TestGRPCUnaryDescriptorSetInline(t *testing.T) {
	addr := startGRPCEcho(t, "0", "", false)
	b, err := os.ReadFile(writeDescriptorSet(t))
	if err != nil {
		t.Fatal(err)
	}
	res := protoRun(t, &loadgen.Plan{
		Targets: []string{"grpc://" + addr + "/" + echo.EchoService + "/Echo"}, Body: []byte(`{"message": "x"}`),
		GRPC:        loadgen.GRPC{DescriptorSetBytes: b},
		Connections: 1, Requests: 50,
	})
	wantNoErrors(t, res)
	if res.Achieved.Responses != 50 || res.StatusCodes[0] != 50 {
		t.Errorf("responses = %d, codes %v; want 50 OK", res.Achieved.Responses, res.StatusCodes)
	}
}
