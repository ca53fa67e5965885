package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/nsenter"
)

func TestOwnIDOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    []specs.LinuxIDMapping
		want bool
	}{
		{"own id", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, true},
		{"own id elsewhere", []specs.LinuxIDMapping{{ContainerID: 5, HostID: 1000, Size: 1}}, true},
		{"another id", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1001, Size: 1}}, false},
		{"a range from it", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2}}, false},
		{"two ranges", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}}, false},
		{"none", nil, false},
	} {
		if got := ownIDOnly(tc.m, 1000); got != tc.want {
			t.Errorf("%s: ownIDOnly = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestCgroupOptional(t *testing.T) {
	limit := int64(1 << 20)
	denied := fmt.Errorf("create cgroup: %w", &fs.PathError{Op: "mkdir", Path: "/sys/fs/cgroup/x", Err: unix.EACCES})
	devicesOnly := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}
	withLimit := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	for _, tc := range []struct {
		name     string
		rootless bool
		r        *specs.LinuxResources
		err      error
		want     bool
	}{
		{"rootless, no resources", true, nil, denied, true},
		{"rootless, device rules only", true, devicesOnly, denied, true},
		{"rootless, EPERM", true, nil, unix.EPERM, true},
		{"rootless, read-only cgroupfs", true, nil, unix.EROFS, true},
		{"rootless, a limit", true, withLimit, denied, false},
		{"rootless, another error", true, nil, unix.ENOSPC, false},
		{"not rootless", false, nil, denied, false},
	} {
		o := &Options{Rootless: tc.rootless}
		spec := &specs.Spec{Linux: &specs.Linux{Resources: tc.r}}
		if got := o.cgroupOptional(spec, tc.err); got != tc.want {
			t.Errorf("%s: cgroupOptional = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Device rules are dropped when rootless, and only then.
	if r := (&Options{Rootless: true}).resources(devicesOnly); r.Devices != nil || devicesOnly.Devices == nil {
		t.Errorf("rootless resources: devices %v (the spec's now %v), want none and the spec untouched", r.Devices, devicesOnly.Devices)
	}
	if r := (&Options{}).resources(devicesOnly); r != devicesOnly {
		t.Errorf("resources changed without rootless")
	}
}

// TestNamespacePlanRootless: maps this process may not write itself send
// the new user namespace, and with it every other new namespace, to the
// constructor, which forks for the pid namespace.
func TestNamespacePlanRootless(t *testing.T) {
	spec := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UserNamespace},
	}}}
	req := &nsenter.Request{}
	if clone := namespacePlan(spec, req, true); clone != unix.CLONE_NEWPID|unix.CLONE_NEWNS|unix.CLONE_NEWUSER || req.UserMaps || req.Fork {
		t.Errorf("direct maps: clone %#x, request %+v; want every namespace cloned", clone, req)
	}
	req = &nsenter.Request{}
	clone := namespacePlan(spec, req, false)
	want := uintptr(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUSER)
	if clone != 0 || req.Unshare != want || !req.UserMaps || !req.Fork {
		t.Errorf("maps through helpers: clone %#x, unshare %#x, usermaps %v, fork %v; want 0, %#x, true, true",
			clone, req.Unshare, req.UserMaps, req.Fork, want)
	}
	// Without a new user namespace there are no maps to write.
	spec.Linux.Namespaces = spec.Linux.Namespaces[:2]
	req = &nsenter.Request{}
	if clone := namespacePlan(spec, req, false); clone != unix.CLONE_NEWPID|unix.CLONE_NEWNS || req.UserMaps {
		t.Errorf("no user namespace: clone %#x, usermaps %v; want pid and mount cloned", clone, req.UserMaps)
	}
}

// TestSealedCopy: the rootless fallback of the sealed binary is a copy of
// it that nothing can write, even through a new open of the fd.
func TestSealedCopy(t *testing.T) {
	f, err := sealedCopy()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	self, err := os.Stat("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != self.Size() {
		t.Fatalf("copy: size %d, want %d", st.Size(), self.Size())
	}
	w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), os.O_WRONLY, 0)
	if err == nil {
		_, err = w.Write([]byte("x"))
		w.Close()
	}
	if !errors.Is(err, unix.EPERM) {
		t.Errorf("write to the sealed copy: %v, want EPERM", err)
	}
}
