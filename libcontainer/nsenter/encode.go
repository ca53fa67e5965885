package nsenter

import (
	"strconv"
	"strings"
)

// EnvName is the variable the constructor reads.
const EnvName = "_TUPPER_NSENTER"

// Join is one namespace to enter by path. Kind is the /proc/PID/ns name:
// user, mnt, net, ipc, uts, pid, cgroup or time.
type Join struct {
	Kind string
	Path string
}

// Offset is one time namespace offset (Clock is "monotonic" or "boottime").
type Offset struct {
	Clock string
	Secs  int64
	Nanos uint32
}

// Request is the work for the constructor.
type Request struct {
	SyncFD  int
	Cgroups []int // v1 tasks files to write "0" to, before anything else
	Joins   []Join
	Unshare uintptr // clone flags to unshare after the joins
	Offsets []Offset
	Fork    bool
	// FastExec: after the fork, read a FastExec from the sync socket and
	// execute it (fastexec.c).
	FastExec bool
	// NetFD, when above 0, is a new network namespace the runtime made
	// while this process started, to join first (setns).
	NetFD int
	// CgroupLate: after Unshare, receive v1 tasks files as SCM_RIGHTS
	// with one byte on the sync socket and write "0" to each (see
	// cgroups.Staged), and join a network namespace sent with them. The
	// runtime creates them while this process starts. With FastInit, the
	// C init's plan says when (nsenter.OpJoin).
	CgroupLate bool
	// FastInit: last, read a plan (EncodeOps) and a FastExec from the sync
	// socket, set the container up and execute its process (fastinit.c).
	FastInit bool
	// UserMaps: Unshare has CLONE_NEWUSER; after unsharing it, ask the
	// parent for the maps ({"type":"usermap","pid":N}) and wait for one
	// byte, '1' when root is mapped.
	UserMaps bool
}

// Empty tells whether the constructor has nothing to do.
func (r *Request) Empty() bool {
	return len(r.Cgroups) == 0 && len(r.Joins) == 0 && r.Unshare == 0 && len(r.Offsets) == 0 && !r.Fork && !r.CgroupLate && r.NetFD <= 0 && !r.FastInit
}

// Encode renders r as the value of EnvName. The caller orders Joins; the
// user namespace comes last, so the others are entered with the runtime's
// privileges, which reach every namespace.
func (r *Request) Encode() string {
	var b strings.Builder
	b.WriteString("fd=")
	b.WriteString(strconv.Itoa(r.SyncFD))
	for _, fd := range r.Cgroups {
		b.WriteString("\ncgroup=")
		b.WriteString(strconv.Itoa(fd))
	}
	for _, j := range r.Joins {
		b.WriteString("\njoin=")
		b.WriteString(j.Kind)
		b.WriteByte(':')
		b.WriteString(j.Path)
	}
	if r.NetFD > 0 {
		b.WriteString("\nnetfd=")
		b.WriteString(strconv.Itoa(r.NetFD))
	}
	if r.Unshare != 0 {
		b.WriteString("\nunshare=")
		b.WriteString(strconv.FormatUint(uint64(r.Unshare), 10))
	}
	for _, o := range r.Offsets {
		b.WriteString("\noffset=")
		b.WriteString(o.Clock)
		b.WriteByte(' ')
		b.WriteString(strconv.FormatInt(o.Secs, 10))
		b.WriteByte(' ')
		b.WriteString(strconv.FormatUint(uint64(o.Nanos), 10))
	}
	if r.Fork {
		b.WriteString("\nfork")
	}
	if r.CgroupLate {
		b.WriteString("\ncgrouplate")
	}
	if r.UserMaps {
		b.WriteString("\nusermaps")
	}
	if r.FastExec {
		b.WriteString("\nfastexec")
	}
	if r.FastInit {
		b.WriteString("\nfastinit")
	}
	return b.String()
}
