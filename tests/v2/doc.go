// Package v2 tests tupper on a pure cgroup v2 host: a QEMU guest booted by
// tests/vm, since the machines that run the tests mount cgroups in hybrid
// mode. It owns no code, only the suite in its _test.go files: one guest
// boot runs a shell script that exercises tupper and prints "CHECK key
// value" lines, and each expectation on those lines is a subtest. See
// docs/cgroup-v2-testing.md.
package v2
