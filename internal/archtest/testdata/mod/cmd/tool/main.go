package main

import _ "example.com/m/internal/priv"

func main() {}
