package tests

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

func errnoRet(e unix.Errno) *uint { n := uint(e); return &n }

// denyMkdir is a profile that allows everything but mkdir, which gets act.
func denyMkdir(act specs.LinuxSeccompAction, ret *uint) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"mkdir", "mkdirat"}, Action: act, ErrnoRet: ret},
	}}
}

// TestSecuritySeccompErrno: a denied syscall fails with the profile's errno,
// whatever the flags and whether the filter goes in before or after
// no_new_privs.
func TestSecuritySeccompErrno(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nnp   bool
		flags []specs.LinuxSeccompFlag
	}{
		{"no_new_privs", true, nil},
		{"CAP_SYS_ADMIN", false, nil},
		{"flags", true, []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, "SECCOMP_FILTER_FLAG_TSYNC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "sh", "-c", "mkdir /tmp/x; echo rc=$?; test -d /tmp/x && echo MADE; true")
			c.spec.Process.NoNewPrivileges = tc.nnp
			c.spec.Linux.Seccomp = denyMkdir(specs.ActErrno, errnoRet(unix.EMLINK))
			c.spec.Linux.Seccomp.Flags = tc.flags
			klog := followKernelLog(t)
			out, stderr, code := c.run()
			if code != 0 || out != "rc=1\n" || !strings.Contains(stderr, "Too many links") {
				t.Errorf("mkdir under ERRNO(EMLINK): exit %d, stdout %q, stderr %q; want rc=1 and EMLINK's message", code, out, stderr)
			}
			if tc.flags != nil {
				// SECCOMP_FILTER_FLAG_LOG: actions other than allow are logged.
				klog.want(t, "type=1326", `comm="mkdir"`, fmt.Sprintf(" syscall=%d ", syscallNumber(t, "mkdir")), "code=0x50000")
			}
		})
	}
}

// TestSecuritySeccompKill: the killing actions end the process with SIGSYS,
// which run reports as 128+31.
func TestSecuritySeccompKill(t *testing.T) {
	for _, act := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillThread, specs.ActKillProcess, specs.ActTrap} {
		t.Run(string(act), func(t *testing.T) {
			c := newCtr(t, "mkdir", "/tmp/x")
			c.spec.Linux.Seccomp = denyMkdir(act, nil)
			if _, stderr, code := c.run(); code != 128+int(unix.SIGSYS) {
				t.Errorf("mkdir under %s: exit %d, want %d (SIGSYS); stderr %q", act, code, 128+int(unix.SIGSYS), stderr)
			}
		})
	}
}

// TestSecuritySeccompLog: SCMP_ACT_LOG lets the call through, and the
// kernel logs it (audit type 1326, SECCOMP_RET_LOG).
func TestSecuritySeccompLog(t *testing.T) {
	c := newCtr(t, "sh", "-c", "mkdir /tmp/logged && test -d /tmp/logged && echo made")
	c.spec.Linux.Seccomp = denyMkdir(specs.ActLog, nil)
	klog := followKernelLog(t)
	if out, stderr, code := c.run(); code != 0 || out != "made\n" {
		t.Errorf("mkdir under SCMP_ACT_LOG: exit %d, stdout %q, stderr %q; want it made", code, out, stderr)
	}
	klog.want(t, "type=1326", `comm="mkdir"`, fmt.Sprintf(" syscall=%d ", syscallNumber(t, "mkdir")), "code=0x7ffc0000")
}

// kernelLog reads /dev/kmsg from the moment it was opened; with no audit
// daemon, the kernel prints seccomp's audit records there.
type kernelLog struct{ fd int }

func followKernelLog(t *testing.T) *kernelLog {
	t.Helper()
	actions, err := os.ReadFile("/proc/sys/kernel/seccomp/actions_logged")
	if err != nil || !strings.Contains(string(actions), "log") || len(procsNamed("auditd")) > 0 {
		return nil // records go elsewhere, if anywhere
	}
	// Raw fds: os.File would park a read in the poller instead of
	// returning EAGAIN once the log is drained.
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.Seek(fd, 0, io.SeekEnd); err != nil {
		return nil
	}
	return &kernelLog{fd}
}

// want fails the test unless a record since followKernelLog holds every word.
func (k *kernelLog) want(t *testing.T, words ...string) {
	t.Helper()
	if k == nil {
		t.Log("no kernel log to check: auditd runs or seccomp does not log")
		return
	}
	buf := make([]byte, 8192)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		n, err := unix.Read(k.fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil || n <= 0 {
			continue // EPIPE: records overwritten before we read them
		}
		rec := string(buf[:n])
		if allIn(rec, words) {
			return
		}
	}
	t.Errorf("no kernel log record with %q", words)
}

func allIn(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// procsNamed lists the processes whose comm is name.
func procsNamed(name string) []string {
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	var out []string
	for _, p := range comms {
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == name {
			out = append(out, p)
		}
	}
	return out
}

// TestSecuritySeccompArgs: personality is allowed for PER_LINUX32 only
// (busybox linux32 asks for 8, linux64 for 0).
func TestSecuritySeccompArgs(t *testing.T) {
	c := newCtr(t, "sh", "-c", "linux32 uname -m; linux64 uname -m; echo rc=$?")
	c.spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 0, Value: 0x0008, Op: specs.OpNotEqual}, // PER_LINUX32
		}},
	}}
	out, stderr, code := c.run()
	if code != 0 || out != "i686\nrc=1\n" || !strings.Contains(stderr, "Operation not permitted") {
		t.Errorf("personality(8) only: exit %d, stdout %q, stderr %q; want i686 then linux64 refused", code, out, stderr)
	}
}

// allowBelow lists every syscall of this architecture numbered below
// limit, except those in except: a default-deny profile from the time
// limit was the newest syscall.
func allowBelow(t *testing.T, limit string, except ...string) []string {
	t.Helper()
	top, err := libseccomp.GetSyscallFromName(limit)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for nr := libseccomp.ScmpSyscall(0); nr < top; nr++ {
		name, err := nr.GetName()
		if err == nil && !contains(except, name) {
			names = append(names, name)
		}
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func syscallNumber(t *testing.T, name string) int {
	t.Helper()
	nr, err := libseccomp.GetSyscallFromName(name)
	if err != nil || nr < 0 {
		t.Fatalf("syscall %s: %v", name, err)
	}
	return int(nr)
}

// probeSource makes each numbered syscall given on the command line with
// the arguments (-1, 0, ...) and prints how it ended.
const probeSource = `#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		long nr = strtol(argv[i], NULL, 0);
		long r = syscall(nr, -1L, 0L, 0L, 0L, 0L, 0L);
		printf("%ld=%s\n", nr, r == -1 ? strerrorname_np(errno) : "ok");
	}
	return 0;
}
`

// buildProbe compiles the probe, static, and mounts its directory at
// /probe in c.
func buildProbe(t *testing.T, c *ctr) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc is needed to build the syscall probe")
	}
	dir := c.bind("/mnt/probe", "ro")
	src := filepath.Join(t.TempDir(), "probe.c")
	if err := os.WriteFile(src, []byte(probeSource), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-static", "-O", "-o", filepath.Join(dir, "probe"), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
}

// TestSecuritySeccompENOSYS: under a default-deny profile whose newest
// syscall is close_range, an older syscall the profile leaves out gets the
// default errno, and a newer one ENOSYS, so a libc can fall back.
func TestSecuritySeccompENOSYS(t *testing.T) {
	dup, faccessat2 := syscallNumber(t, "dup"), syscallNumber(t, "faccessat2")
	c := newCtr(t, "/mnt/probe/probe", fmt.Sprint(dup), fmt.Sprint(faccessat2), fmt.Sprint(syscallNumber(t, "getppid")))
	buildProbe(t, c)
	c.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno, DefaultErrnoRet: errnoRet(unix.EACCES),
		Syscalls: []specs.LinuxSyscall{
			{Names: append(allowBelow(t, "close_range", "dup"), "close_range"), Action: specs.ActAllow},
		},
	}
	want := fmt.Sprintf("%d=EACCES\n%d=ENOSYS\n%d=ok\n", dup, faccessat2, syscallNumber(t, "getppid"))
	if out, stderr, code := c.run(); code != 0 || out != want {
		t.Errorf("probe: exit %d, stdout %q, stderr %q; want %q", code, out, stderr, want)
	}
}

// TestSecuritySeccompOldProfile: a default-deny profile written before
// close_range existed must still run a container (the runtime's own last
// syscalls before execve must cope with ENOSYS).
func TestSecuritySeccompOldProfile(t *testing.T) {
	c := newCtr(t, "sh", "-c", "ls / >/dev/null && echo ok")
	c.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls:      []specs.LinuxSyscall{{Names: allowBelow(t, "close_range"), Action: specs.ActAllow}},
	}
	if out, stderr, code := c.run(); code != 0 || out != "ok\n" {
		t.Errorf("profile without close_range: exit %d, stdout %q, stderr %q; want ok", code, out, stderr)
	}
}

// seccompNotif and seccompNotifResp are struct seccomp_notif and
// struct seccomp_notif_resp (include/uapi/linux/seccomp.h).
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

// agent is a seccomp agent: it receives the container's state and the
// listener on a unix socket, and answers each notification with answer.
type agent struct {
	path   string
	answer func(nr int32) seccompNotifResp
	got    chan agentMessage
}

type agentMessage struct {
	state specs.ContainerProcessState
	fds   int
	err   error
}

func startAgent(t *testing.T, answer func(nr int32) seccompNotifResp) *agent {
	t.Helper()
	a := &agent{path: filepath.Join(t.TempDir(), "agent.sock"), answer: answer, got: make(chan agentMessage, 1)}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(stop); l.Close(); <-done })
	go func() {
		defer close(done)
		fd, err := a.receive(l)
		if err != nil {
			a.got <- agentMessage{err: err}
			return
		}
		defer unix.Close(fd)
		a.serve(fd, stop)
	}()
	return a
}

// receive reads the one message of runc's agent protocol: the state as
// JSON with the listener in SCM_RIGHTS.
func (a *agent) receive(l *net.UnixListener) (int, error) {
	conn, err := l.AcceptUnix()
	if err != nil {
		return -1, err
	}
	defer conn.Close()
	buf, oob := make([]byte, 1<<16), make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, err
	}
	var m agentMessage
	if err := json.Unmarshal(buf[:n], &m.state); err != nil {
		return -1, fmt.Errorf("agent: state is not JSON: %w: %q", err, buf[:n])
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("agent: %d control messages (%v)", len(msgs), err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return -1, fmt.Errorf("agent: fds %v (%v)", fds, err)
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	m.fds = len(fds)
	a.got <- m
	return fds[0], nil
}

// serve answers notifications until the filter has no task left.
func (a *agent) serve(fd int, stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 100); err != nil && !errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if pfd[0].Revents&unix.POLLHUP != 0 {
			return
		}
		var req seccompNotif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); e != 0 {
			continue
		}
		resp := a.answer(req.nr)
		resp.id = req.id
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

func (a *agent) message(t *testing.T) agentMessage {
	t.Helper()
	select {
	case m := <-a.got:
		if m.err != nil {
			t.Fatal(m.err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("the agent received nothing")
		return agentMessage{}
	}
}

// TestSecuritySeccompNotify: the agent receives the listener with the
// state and answers getpid with a value of its choosing, which ash shows
// as $$; mkdir it fails with EROFS; the calls around execve it lets
// continue, which must not deadlock the runtime.
func TestSecuritySeccompNotify(t *testing.T) {
	getpid, mkdir := int32(syscallNumber(t, "getpid")), int32(syscallNumber(t, "mkdir"))
	answer := func(nr int32) seccompNotifResp {
		switch nr {
		case getpid:
			return seccompNotifResp{val: 4242}
		case mkdir:
			return seccompNotifResp{error: -int32(unix.EROFS)}
		}
		return seccompNotifResp{flags: 1} // SECCOMP_USER_NOTIF_FLAG_CONTINUE
	}
	for _, tc := range []struct {
		name  string
		nnp   bool
		flags []specs.LinuxSeccompFlag
	}{
		{"no_new_privs", true, nil},
		{"CAP_SYS_ADMIN", false, nil},
		{"wait killable", true, []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAgent(t, answer)
			c := newCtr(t, "sh", "-c", "echo $$; mkdir /tmp/x; echo rc=$?")
			c.spec.Process.NoNewPrivileges = tc.nnp
			c.spec.Linux.Seccomp = &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow, ListenerPath: a.path, ListenerMetadata: "meta-" + c.id, Flags: tc.flags,
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"getpid", "mkdir", "execve", "openat", "read", "close"}, Action: specs.ActNotify},
				},
			}
			out, stderr, code := c.run()
			if code != 0 || out != "4242\nrc=1\n" || !strings.Contains(stderr, "Read-only file system") {
				t.Errorf("answered by the agent: exit %d, stdout %q, stderr %q; want $$ 4242 and mkdir EROFS", code, out, stderr)
			}
			m := a.message(t)
			st := m.state
			if st.Version == "" || len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName || m.fds != 1 {
				t.Errorf("agent got fds %v (%d sent), ociVersion %q; want [%s] and one fd", st.Fds, m.fds, st.Version, specs.SeccompFdName)
			}
			if st.Metadata != "meta-"+c.id || st.State.ID != c.id || st.Pid <= 0 || st.State.Bundle != c.bundle {
				t.Errorf("agent got state %+v; want metadata, id, pid and bundle of %s", st, c.id)
			}
		})
	}
}

// TestSecuritySeccompNoAgent: with nobody at listenerPath, create fails
// and names the field.
func TestSecuritySeccompNoAgent(t *testing.T) {
	c := newCtr(t, "true")
	c.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow, ListenerPath: filepath.Join(t.TempDir(), "nobody.sock"),
		Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
	}
	_, stderr, code := c.run()
	wantError(t, "no agent at listenerPath", code, stderr, "listenerPath")
}

// TestSecuritySeccompRejects: bad profiles fail create with the field named.
func TestSecuritySeccompRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *specs.LinuxSeccomp
		want string
	}{
		{"action", denyMkdir("SCMP_ACT_FOO", nil), `linux.seccomp.syscalls[0].action "SCMP_ACT_FOO": unknown action`},
		{"architecture", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_PDP11"}},
			`architectures[0] "SCMP_ARCH_PDP11": unknown architecture`},
		{"operator", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"kill"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Op: "SCMP_CMP_ABOUT"}}},
		}}, `syscalls[0].args[0].op "SCMP_CMP_ABOUT": unknown operator`},
		{"notify without listener", denyMkdir(specs.ActNotify, nil), "listenerPath: required by SCMP_ACT_NOTIFY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCtr(t, "true")
			c.spec.Linux.Seccomp = tc.s
			_, stderr, code := c.run()
			wantError(t, tc.name, code, stderr, tc.want)
		})
	}
}

// TestSecuritySeccompCache: a second create with the same profile uses
// the compiled program cached under --root.
func TestSecuritySeccompCache(t *testing.T) {
	root := t.TempDir()
	for i := range 2 {
		c := newCtr(t, "sh", "-c", "mkdir /tmp/x; echo rc=$?")
		c.root = root
		c.spec.Linux.Seccomp = denyMkdir(specs.ActErrno, errnoRet(unix.EMLINK))
		if out := c.mustRun(); out != "rc=1\n" {
			t.Errorf("run %d: stdout %q, want rc=1", i, out)
		}
		entries, _ := filepath.Glob(filepath.Join(root, ".seccomp-cache", "*.bpf"))
		if len(entries) != 1 {
			t.Errorf("run %d: cache holds %v, want one program", i, entries)
		}
	}
}
