//go:build linux && ignore

package pub

import _ "example.com/m/internal"
