// Package features builds the runtime-spec features document (features.md) that
// `tupper features` prints: what tupper recognises, not what the host provides.
package features
