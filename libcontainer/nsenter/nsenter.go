// Package nsenter joins namespaces by path before the Go runtime starts.
//
// The kernel refuses setns(2) into a user or mount namespace from a
// multithreaded process, and a Go program is multithreaded before main runs.
// Namespaces of the pid and time kinds only apply to the children of the
// caller. So when tupper's init is asked to join namespaces by path, or to
// create a time namespace (whose offsets must be written before any process
// enters it), a small C constructor does that work while the process still
// has one thread, and forks once when the pid or time namespace requires it.
//
// The parent describes the work in the environment variable _TUPPER_NSENTER
// (see Encode). The constructor removes the variable, so the Go side and the
// container never see it. Errors and the pid of a forked init are written to
// the sync socket as JSON lines, the same framing the Go protocol uses.
//
// This package owns nothing else: new namespaces without joins are created by
// the clone itself (SysProcAttr.Cloneflags), which is faster.
package nsenter

/*
#cgo CFLAGS: -Wall -O2
extern void tupper_nsenter(void);
void __attribute__((constructor)) tupper_nsenter_init(void) { tupper_nsenter(); }
*/
import "C"
