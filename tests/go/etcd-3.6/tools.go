//go:build tools

// Package tools pins the etcd server the test bed runs (built with gotools from this module).
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
