package smi

import (
	"testing"

	"github.com/meshperf/meshperf/internal/cluster/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }
