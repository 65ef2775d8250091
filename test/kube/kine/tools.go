//go:build tools

// Package tools pins the binary scripts/ensure-kube.sh builds from this module.
package tools

import _ "github.com/k3s-io/kine"
