package pub

import (
	"fmt"

	"example.com/m/internal/priv"
)

var _ = fmt.Sprint(priv.X)
