package pub

import _ "example.com/m/internal/priv"
