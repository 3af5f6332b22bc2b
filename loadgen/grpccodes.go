package loadgen

// grpcCodeNames are gRPC's status codes as its specification writes them
// (the index is the code).
var grpcCodeNames = []string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

// GRPCCodeName is gRPC status code c as the specification writes it
// (DEADLINE_EXCEEDED), or "" for a code past the known ones. Results of gRPC
// runs key their status codes by these numbers.
func GRPCCodeName(c int) string {
	if c >= 0 && c < len(grpcCodeNames) {
		return grpcCodeNames[c]
	}
	return ""
}

// GRPCCodes is the number of known gRPC status codes (0 to GRPCCodes-1).
const GRPCCodes = 17
