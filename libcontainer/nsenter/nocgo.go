//go:build !cgo

package nsenter

// Without cgo the constructor would be silently missing and joining
// namespaces by path would do nothing: refuse to build instead.
var _ = tupper_requires_cgo_for_package_nsenter
