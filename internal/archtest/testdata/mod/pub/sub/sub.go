package sub

import _ "example.com/m/pub"

import _ "example.com/m/internalize"
