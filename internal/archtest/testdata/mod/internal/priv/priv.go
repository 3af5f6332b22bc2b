package priv

import _ "example.com/m/internal"

const X = 1
