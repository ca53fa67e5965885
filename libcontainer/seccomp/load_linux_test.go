package seccomp

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// A filter cannot be taken off again, so Load runs in a child: the test
// binary re-executed with childEnv naming what to do there.
const (
	childEnv = "TUPPER_SECCOMP_TEST_CHILD"
	progEnv  = "TUPPER_SECCOMP_TEST_PROGRAM"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// seccompNotif and seccompNotifResp are struct seccomp_notif and
// seccomp_notif_resp (include/uapi/linux/seccomp.h); x/sys has only the
// ioctl numbers.
type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

type seccompNotifResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

// child loads the program in progEnv on this thread, makes the probe
// syscalls and prints "name=result" lines.
func child(mode string) int {
	runtime.LockOSThread()
	b, err := os.ReadFile(os.Getenv(progEnv))
	if err != nil {
		fmt.Println("read=" + err.Error())
		return 1
	}
	var p Program
	if err := json.Unmarshal(b, &p); err != nil {
		fmt.Println("decode=" + err.Error())
		return 1
	}
	switch mode {
	case "nnp":
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fmt.Println("nnp=" + err.Error())
			return 1
		}
	case "nocap":
		// Capabilities are per thread: drop CAP_SYS_ADMIN from this one.
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			fmt.Println("capget=" + err.Error())
			return 1
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			fmt.Println("capset=" + err.Error())
			return 1
		}
	}
	fd, err := p.Load()
	if err != nil {
		fmt.Println("load=" + err.Error())
		return 0
	}
	fmt.Printf("load=ok fd=%v\n", fd >= 0)
	if fd >= 0 {
		go answer(fd, 4242)
	}
	var uts unix.Utsname
	report := func(name string, r uintptr, e unix.Errno) {
		if e != 0 {
			fmt.Printf("%s=%s\n", name, unix.ErrnoName(e))
		} else {
			fmt.Printf("%s=%d\n", name, int64(r))
		}
	}
	r, _, e := unix.RawSyscall(unix.SYS_UNAME, uintptr(unsafe.Pointer(&uts)), 0, 0)
	report("uname", r, e)
	r, _, e = unix.Syscall(unix.SYS_GETPPID, 0, 0, 0)
	report("getppid", r, e)
	// A last fd below the first is EINVAL, should the call get through.
	r, _, e = unix.RawSyscall(unix.SYS_CLOSE_RANGE, 10, 5, 0)
	report("close_range", r, e)
	return 0
}

// answer replies to every notification on fd with val; it runs on
// another thread, which the filter does not cover.
func answer(fd int, val int64) {
	for {
		var req seccompNotif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			return
		}
		resp := seccompNotifResp{id: req.id, val: val}
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// runChild compiles s, loads it in a child in mode and returns what the
// child printed.
func runChild(t *testing.T, mode string, s *specs.LinuxSeccomp) map[string]string {
	t.Helper()
	p, err := Compile(s, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/program.json"
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, progEnv+"="+path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				got[k] = v
			}
		}
	}
	return got
}

func checkChild(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

func TestLoadErrno(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"uname"}, Action: specs.ActErrno},
	}}
	got := runChild(t, "nnp", s)
	checkChild(t, got, map[string]string{"load": "ok", "fd": "false", "uname": "EPERM", "close_range": "EINVAL"})
	if got["getppid"] != fmt.Sprint(os.Getpid()) {
		t.Errorf("getppid = %s, want %d", got["getppid"], os.Getpid())
	}
}

// TestLoadPrivilege: the kernel takes a filter from a thread that has
// no_new_privs or CAP_SYS_ADMIN, and from no other.
func TestLoadPrivilege(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs CAP_SYS_ADMIN")
	}
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"uname"}, Action: specs.ActErrno, ErrnoRet: errno(uint(unix.EACCES))},
	}}
	checkChild(t, runChild(t, "cap", s), map[string]string{"load": "ok", "uname": "EACCES"})
	got := runChild(t, "nocap", s)
	if !strings.HasPrefix(got["load"], "seccomp(SECCOMP_SET_MODE_FILTER)") || got["uname"] != "" {
		t.Errorf("without no_new_privs or CAP_SYS_ADMIN: %v, want a load error", got)
	}
}

// TestLoadENOSYS loads a profile that allows every syscall numbered
// below close_range except uname: uname gets the default errno,
// close_range (newer than the profile) ENOSYS.
func TestLoadENOSYS(t *testing.T) {
	limit := syscallNr(t, "close_range")
	var names []string
	for nr := int32(0); nr < limit; nr++ {
		name, err := libseccomp.ScmpSyscall(nr).GetName()
		if err == nil && name != "uname" {
			names = append(names, name)
		}
	}
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: names, Action: specs.ActAllow},
	}}
	checkChild(t, runChild(t, "nnp", s), map[string]string{"load": "ok", "uname": "EPERM", "close_range": "ENOSYS"})
}

// TestLoadNotify loads a filter whose listener another thread answers.
func TestLoadNotify(t *testing.T) {
	s := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/unused", Syscalls: []specs.LinuxSyscall{
		{Names: []string{"getppid"}, Action: specs.ActNotify},
	}}
	checkChild(t, runChild(t, "nnp", s), map[string]string{"load": "ok", "fd": "true", "getppid": "4242"})
}

func TestLoadInvalid(t *testing.T) {
	for _, p := range []*Program{{}, {Filter: make([]byte, 12)}, {Filter: make([]byte, 8*(maxInsns+1))}} {
		if fd, err := p.Load(); err == nil || fd != -1 {
			t.Errorf("Load of %d bytes = %d, %v; want an error", len(p.Filter), fd, err)
		}
	}
}
