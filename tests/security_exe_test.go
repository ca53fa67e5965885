package tests

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// CVE-2019-5736: a container that gets hold of the runtime's binary
// through /proc/<pid>/exe (of the init, or of anything that executes it
// inside the container) could overwrite it on the host. These tests run a
// copy of the binary, so an attack that succeeds only shows, and they
// never write: opening for writing is the proof.

// copyTupper copies the binary under test.
func copyTupper(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "tupper")
	src, err := os.Open(tupperBin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// tupperAt runs bin (a copy of tupper) on c's state root and waits.
func tupperAt(t *testing.T, bin string, c *ctr, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--root", c.root}, args...)...)
	cmd.Stdout = createFile(t, c.out)
	errPath := filepath.Join(t.TempDir(), "stderr")
	cmd.Stderr = createFile(t, errPath)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	defer stop()
	code = exitCode(t, cmd.Wait())
	return readFile(t, errPath), code
}

func mustTupperAt(t *testing.T, bin string, c *ctr, args ...string) {
	t.Helper()
	if stderr, code := tupperAt(t, bin, c, args...); code != 0 {
		t.Fatalf("%s %v: exit %d: %s", filepath.Base(bin), args, code, stderr)
	}
}

// runsBinary reports whether a host process executes bin.
func runsBinary(bin string) bool {
	exes, _ := filepath.Glob("/proc/[0-9]*/exe")
	for _, e := range exes {
		if target, err := os.Readlink(e); err == nil && strings.TrimSuffix(target, " (deleted)") == bin {
			return true
		}
	}
	return false
}

// TestSecurityInitExeAfterStart: once started, the container's pid 1 is
// its own process, not the runtime.
func TestSecurityInitExeAfterStart(t *testing.T) {
	c := newCtr(t, "sh", "-c", "readlink /proc/1/exe; readlink /proc/self/exe")
	if out := c.mustRun(); out != "/bin/busybox\n/bin/busybox\n" {
		t.Errorf("exe of pid 1 and self: %q, want /bin/busybox twice", out)
	}
}

// capNames are the capabilities by number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
	"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
	"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// hostCaps is every capability in this process's bounding set: all that a
// privileged container can get here.
func hostCaps(t *testing.T) []string {
	t.Helper()
	status := statusFields(readFile(t, "/proc/self/status"))
	bnd, err := strconv.ParseUint(status["CapBnd"], 16, 64)
	if err != nil {
		t.Fatalf("CapBnd %q: %v", status["CapBnd"], err)
	}
	var caps []string
	for i, name := range capNames {
		if bnd&(1<<i) != 0 {
			caps = append(caps, name)
		}
	}
	return caps
}

// exeProbeScript, run in a second container in the first one's pid
// namespace while the first is only created, tries the init's exe: read
// its link, open it for writing now, and keep it open for reading to try
// writing through that fd once the init has exec'd its process.
const exeProbeScript = `out=/shared/out
echo "exe=$(readlink /proc/1/exe 2>/dev/null || echo denied)" >> $out
if { : ; } 4>>/proc/1/exe 2>/dev/null; then echo rw-now=OPENED >> $out; else echo rw-now=denied >> $out; fi
held() {
	echo ro=held >> $out
	touch /shared/ready
	while [ ! -e /shared/go ]; do sleep 0.05; done
	if { : ; } 5>>/proc/self/fd/3 2>/dev/null; then echo rw-later=OPENED >> $out; else echo rw-later=denied >> $out; fi
}
{ held; } 3</proc/1/exe 2>/dev/null || echo ro=denied >> $out
touch /shared/done
`

// TestSecurityInitExeDuringCreate: while a container is created, its init
// runs the runtime's binary; a second container in its pid namespace must
// not get that binary open for writing, now or after the init execs.
func TestSecurityInitExeDuringCreate(t *testing.T) {
	for _, privileged := range []bool{false, true} {
		t.Run(fmt.Sprintf("privileged=%v", privileged), func(t *testing.T) {
			bin := copyTupper(t)
			a := newCtr(t, "sleep", "1000")
			a.write()
			mustTupperAt(t, bin, a, "create", "--bundle", a.bundle, a.id)
			pid := a.state().Pid

			b := newCtr(t, "sh", "-c", exeProbeScript)
			shared := b.bind("/shared")
			b.setNamespace(specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", pid))
			if privileged {
				all := hostCaps(t)
				caps := b.spec.Process.Capabilities
				caps.Bounding, caps.Effective, caps.Permitted = all, all, all
			}
			b.write()
			mustTupperAt(t, bin, b, "create", "--bundle", b.bundle, b.id)
			mustTupperAt(t, bin, b, "start", b.id)
			if _, err := waitAny(10*time.Second, filepath.Join(shared, "ready"), filepath.Join(shared, "done")); err != nil {
				t.Fatalf("probe container: %v; out %q", err, readFile(t, filepath.Join(shared, "out")))
			}
			mustTupperAt(t, bin, a, "start", a.id)
			if !eventually(func() bool { return !runsBinary(bin) }) {
				t.Fatal("the copy of tupper still runs after start")
			}
			if err := os.WriteFile(filepath.Join(shared, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := waitAny(10*time.Second, filepath.Join(shared, "done")); err != nil {
				t.Fatalf("probe container: %v", err)
			}
			out := readFile(t, filepath.Join(shared, "out"))
			t.Logf("probe: %q", out)
			if strings.Contains(out, "OPENED") {
				t.Errorf("a container opened the runtime's binary for writing through the init's /proc/1/exe (CVE-2019-5736): %q", out)
			}
		})
	}
}

// attackScript is CVE-2019-5736's container side: find a process whose
// exe is not busybox (the runtime, made to run inside the container),
// hold its exe open, and once it has exited open that fd for writing.
const attackScript = `out=/shared/out
probe() {
	{
		echo "found=$1 $(readlink $1/exe)" >> $out
		echo "size=$(wc -c < /proc/self/fd/3)" >> $out
		touch /shared/ready
		while [ ! -e /shared/go ]; do sleep 0.05; done
		if { : ; } 4>>/proc/self/fd/3 2>/dev/null; then echo rw=OPENED >> $out; else echo rw=denied >> $out; fi
		touch /shared/done
	} 3<"$1/exe"
}
while [ ! -e /shared/ready ] && [ ! -e /shared/stop ]; do
	for d in /proc/[0-9]*; do
		[ "$d" = /proc/1 ] && continue
		e=$(readlink $d/exe 2>/dev/null) || continue
		[ "$e" = /bin/busybox ] && continue
		probe $d 2>/dev/null && break
	done
done
exec sleep 1000
`

// TestSecurityExecSelfExe is the CVE-2019-5736 attack proper: the
// container's /evil is "#!/proc/self/exe init", so `tupper exec ... /evil`
// makes the runtime's init exec the runtime's own binary inside the
// container, as the container's process. It then waits on its stdin,
// which the test holds, while the container opens its exe; after it exits,
// the container must not be able to open that binary for writing. The
// test fails unless the attack got that far: the container must have held
// a file of the binary's size (read, never written) before it tries.
func TestSecurityExecSelfExe(t *testing.T) {
	bin := copyTupper(t)
	c := newCtr(t, "sh", "-c", attackScript)
	root := privateRootfs(t)
	if err := os.WriteFile(filepath.Join(root, "evil"), []byte("#!/proc/self/exe init\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c.spec.Root.Path = root
	shared := c.bind("/shared")
	c.write()
	mustTupperAt(t, bin, c, "create", "--bundle", c.bundle, c.id)
	mustTupperAt(t, bin, c, "start", c.id)

	stdin, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	execOut := filepath.Join(t.TempDir(), "exec.out")
	run := exec.Command(bin, "--root", c.root, "exec", "--env", "_TUPPER_SYNC_FD=0", c.id, "/evil")
	run.Stdin, run.Stdout, run.Stderr = stdin, createFile(t, execOut), createFile(t, execOut)
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	done := make(chan struct{})
	go func() { run.Wait(); close(done) }()
	defer func() { run.Process.Kill(); <-done }()

	_, err = waitAny(10*time.Second, filepath.Join(shared, "ready"))
	hold.Close() // the runtime inside reads EOF and exits
	select {
	case <-done:
	case <-time.After(cmdTimeout):
		t.Fatal("exec did not end")
	}
	t.Logf("exec: %q", readFile(t, execOut))
	if err != nil {
		os.WriteFile(filepath.Join(shared, "stop"), nil, 0o644)
		t.Fatalf("the attack never got as far as holding the runtime's exe, so it shows nothing: %v; out %q", err, readFile(t, filepath.Join(shared, "out")))
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	held := readFile(t, filepath.Join(shared, "out"))
	if want := fmt.Sprintf("size=%d\n", st.Size()); !strings.Contains(held, want) {
		t.Fatalf("the container held an exe that is not the runtime's binary: %q, want %s", held, want)
	}
	if !eventually(func() bool { return !runsBinary(bin) }) {
		t.Fatal("the copy of tupper still runs")
	}
	if err := os.WriteFile(filepath.Join(shared, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := waitAny(10*time.Second, filepath.Join(shared, "done")); err != nil {
		t.Fatalf("attack script: %v", err)
	}
	out := readFile(t, filepath.Join(shared, "out"))
	t.Logf("attack: %q", out)
	if strings.Contains(out, "rw=OPENED") {
		t.Errorf("the container opened the runtime's binary for writing (CVE-2019-5736): %q", out)
	} else if !strings.Contains(out, "rw=denied") {
		t.Errorf("the attack never tried to open the binary for writing: %q", out)
	}
}

// waitAny waits until one of paths exists and returns it.
func waitAny(d time.Duration, paths ...string) (string, error) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, p := range paths {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("none of %v after %v", paths, d)
}
