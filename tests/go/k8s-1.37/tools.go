//go:build tools

// Package tools pins the Kubernetes control plane the test bed runs (built with gotools from this
// module). k8s.io/kubernetes requires its staging modules at v0.0.0 through replace directives that a
// dependent module does not inherit, so go.mod replaces each with its published v0.Y.Z.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
