//go:build tools

// Package tools pins krew and krew-index's manifest validator for tests/krew.rs (built with gotools
// from this module).
package tools

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
