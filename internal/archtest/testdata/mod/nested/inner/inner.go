package inner

import _ "example.com/m/internal/priv"
