package container

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/rootfs"
)

// initState is what the init carries from one step to the next.
type initState struct {
	ch        *channel
	sync      *os.File
	cfg       *initConfig
	spec      *specs.Spec
	fifoFD    int
	consoleFD int
	steps     []step
	began     time.Time
	// listenerFD is a connection to linux.seccomp.listenerPath, made
	// before pivot_root while the path still resolves on the host.
	listenerFD int
	// procDir is the runtime's /proc, kept by an init or exec process that
	// chroots into a container without a mount namespace, whose root has
	// no /proc (nothing is mounted there); -1 otherwise. See keepProc.
	procDir int
	// rootFD is the container's root directory, opened by `tupper exec`
	// for a container without a mount namespace; -1 otherwise.
	rootFD int
}

// Init is the body of `tupper init`, the container's init process. It never
// returns: it executes the container's process, or exits after reporting
// why it could not, to create before the container is ready and to start
// after.
func Init() {
	// Capabilities and the cgroup namespace belong to a thread, and the final
	// execve must come from the thread that holds them.
	runtime.LockOSThread()
	in := &initState{began: time.Now(), fifoFD: envFD(envFIFOFD), consoleFD: envFD(envConsoleFD), listenerFD: -1, procDir: -1, rootFD: envFD(envRootFD)}
	in.sync = os.NewFile(uintptr(envFD(envSyncFD)), "sync")
	in.ch = newChannel(in.sync)
	os.Clearenv()

	m, err := in.ch.expect(msgConfig)
	if err == nil {
		in.cfg, err = m.initConfig()
	}
	if err == nil {
		in.spec = in.cfg.Spec
		in.steps = append(in.steps, step{Name: "wait for config", Took: time.Since(in.began)})
		if in.cfg.Exec {
			err = in.guard(in.execInContainer)
		} else {
			err = in.guard(in.setup)
		}
	}
	if err != nil {
		_ = in.ch.send(&message{Type: msgError, Error: err.Error()})
		os.Exit(1)
	}
	in.sync.Close()
	fifo, err := in.waitForStart()
	if err != nil {
		// Nobody to tell: start has not run. Exiting makes the container
		// stopped, which state and delete report.
		os.Exit(1)
	}
	err = in.guard(in.startProcess)
	fmt.Fprintf(fifo, "%s", err)
	os.Exit(1)
}

func envFD(name string) int {
	fd, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return -1
	}
	return fd
}

// guard turns a panic into an error, so the user sees it from create or start.
func (in *initState) guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("init panic: %v", r)
		}
	}()
	return f()
}

func (in *initState) step(name string, f func() error) error {
	t := time.Now()
	if err := f(); err != nil {
		return err
	}
	in.steps = append(in.steps, step{Name: name, Took: time.Since(t)})
	return nil
}

// setup applies everything in the config except the process, in the order
// runtime-spec's lifecycle gives, and reports ready.
func (in *initState) setup() error {
	spec := in.spec
	if in.cfg.UserNS {
		// Become root of the new user namespace, whatever host uid we are.
		if err := unix.Setresgid(0, 0, 0); err != nil {
			return fmt.Errorf("setgid 0 in user namespace: %w", err)
		}
		if err := unix.Setresuid(0, 0, 0); err != nil {
			return fmt.Errorf("setuid 0 in user namespace: %w", err)
		}
	}
	if hasNewNamespace(spec, specs.CgroupNamespace) {
		// Unshared only now, after the parent placed us in our cgroup, so
		// that cgroup is the namespace's root.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if err := in.setHostname(); err != nil {
		return err
	}
	rc := &rootfs.Config{Spec: spec, Rootfs: in.cfg.Rootfs, Bundle: in.cfg.Bundle, NoPivot: in.cfg.NoPivot, Idmapped: in.cfg.Idmapped}
	// In a joined mount namespace the rootfs is set up all the same: "the
	// runtime MUST place the container process in the namespace associated
	// with that path", and the container still gets its root.path
	// (runtime-tools' linux_ns_path checks exactly this).
	if mountNS(spec) {
		if err := in.step("mount", func() error { return rootfs.Mount(rc) }); err != nil {
			return err
		}
	}
	if err := in.connectSeccompAgent(); err != nil {
		return err
	}
	if needsHookSync(spec) {
		if err := in.ch.send(&message{Type: msgHooks}); err != nil {
			return err
		}
		if _, err := in.ch.expect(msgHooksDone); err != nil {
			return err
		}
		if err := runHooks(spec.Hooks.CreateContainer, "createContainer", in.hookState(StatusCreating)); err != nil {
			return err
		}
	}
	if mountNS(spec) {
		if err := in.step("pivot", func() error { return rootfs.Pivot(rc) }); err != nil {
			return err
		}
	} else {
		// Without a mount namespace of its own nothing is mounted (it
		// would be mounted in the host's), but root.path is still the
		// container's root, by chroot, as runc does. Its /proc is then
		// an empty directory: see keepProc.
		if err := in.keepProc(); err != nil {
			return err
		}
		if err := in.step("chroot", func() error { return rootfs.Chroot(rc) }); err != nil {
			return err
		}
	}
	// Before Finalize: readonlyPaths usually include /proc/sys.
	if err := in.step("sysctl", in.writeSysctls); err != nil {
		return err
	}
	if mountNS(spec) {
		if err := in.step("finalize rootfs", func() error { return rootfs.Finalize(rc) }); err != nil {
			return err
		}
	}
	if err := in.step("console", in.setupConsole); err != nil {
		return err
	}
	if !in.cfg.NoNewKeyring {
		if err := joinSessionKeyring(in.cfg.ID); err != nil {
			return err
		}
	}
	if err := in.step("process attributes", in.prepareProcess); err != nil {
		return err
	}
	// Looked up now as runc does, so a missing command fails create: podman
	// turns only a create error saying "executable file not found" or "no
	// such file or directory" into exit code 127; from start it is a bare
	// failure (126). execProcess looks it up again after the startContainer
	// hooks, which may change the rootfs.
	if _, err := lookPath(spec.Process.Args[0], pathOf(spec.Process.Env)); err != nil {
		return err
	}
	// Check now what waitForStart will need, while create can still report it.
	dir, name := in.fifoLink()
	if err := unix.Faccessat(dir, name, unix.W_OK, 0); err != nil {
		return fmt.Errorf("exec fifo: %w (is /proc mounted in the container?)", err)
	}
	in.steps = append(in.steps, step{Name: "setup (all)", Took: time.Since(in.began)})
	return in.ch.send(&message{Type: msgReady, Steps: in.steps, Began: in.began})
}

// mountNS tells whether the container has a mount namespace of its own,
// new or joined, where its rootfs is set up.
func mountNS(spec *specs.Spec) bool {
	if spec.Linux == nil {
		return false
	}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return true
		}
	}
	return false
}

func (in *initState) joins(t specs.LinuxNamespaceType) bool {
	if in.spec.Linux == nil {
		return false
	}
	for _, ns := range in.spec.Linux.Namespaces {
		if ns.Type == t && ns.Path != "" {
			return true
		}
	}
	return false
}

func (in *initState) setHostname() error {
	if !hasNewNamespace(in.spec, specs.UTSNamespace) && !in.joins(specs.UTSNamespace) {
		return nil
	}
	if h := in.spec.Hostname; h != "" {
		if err := unix.Sethostname([]byte(h)); err != nil {
			return fmt.Errorf("set hostname %q: %w", h, err)
		}
	}
	if d := in.spec.Domainname; d != "" {
		if err := unix.Setdomainname([]byte(d)); err != nil {
			return fmt.Errorf("set domainname %q: %w", d, err)
		}
	}
	return nil
}

// writeSysctls writes linux.sysctl through the container's own /proc, which
// after pivot_root shows its namespaces, or without a mount namespace
// through the runtime's (keepProc).
func (in *initState) writeSysctls() error {
	if in.spec.Linux == nil {
		return nil
	}
	for key, value := range in.spec.Linux.Sysctl {
		if err := writeProc(in.procDir, "sys/"+sysctlPath(key), value); err != nil {
			return fmt.Errorf("linux.sysctl %q: %w", key, err)
		}
	}
	return nil
}

// sysctlPath turns net.ipv4.ip_forward into net/ipv4/ip_forward. Keys may
// already use slashes, in which case dots are part of names (eth0.100).
func sysctlPath(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key
		}
	}
	b := []byte(key)
	for i := range b {
		if b[i] == '.' {
			b[i] = '/'
		}
	}
	return string(b)
}

// waitForStart opens the exec FIFO for writing, which blocks until start
// opens it for reading, and writes one byte to say the init is alive. The
// FIFO lives in the state directory outside the rootfs, so it is reached
// through the O_PATH fd create gave us.
func (in *initState) waitForStart() (*os.File, error) {
	dir, name := in.fifoLink()
	fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	unix.Close(in.fifoFD)
	if in.procDir >= 0 {
		unix.Close(in.procDir)
	}
	f := os.NewFile(uintptr(fd), "exec.fifo")
	if _, err := f.Write([]byte{0}); err != nil {
		return nil, err
	}
	return f, nil
}

// keepProc opens the runtime's /proc before a chroot into a rootfs where
// nothing is mounted. What the init writes through /proc (linux.sysctl,
// process.oomScoreAdj) and the exec FIFO's fd link are then reached
// through it. That is the procfs of the runtime's pid namespace, which
// shows the init as well (as a descendant's), and "self" there still
// names the caller; the sysctls under sys/ belong to the namespaces of the
// writer, not of the procfs, so they land in the container's as they would
// through a procfs mounted inside it. And the container cannot reach this
// /proc to mount over it: the runtime's mount namespace is not its to
// change. The fd is close-on-exec, and closed before start releases the
// init.
func (in *initState) keepProc() error {
	proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /proc: %w", err)
	}
	in.procDir = proc
	return nil
}

// fifoLink is the exec FIFO's fd link, for the *at calls: in the
// container's /proc, or in the runtime's (procDir) when it has none.
func (in *initState) fifoLink() (dir int, name string) {
	if in.procDir >= 0 {
		return in.procDir, "self/fd/" + strconv.Itoa(in.fifoFD)
	}
	return unix.AT_FDCWD, "/proc/self/fd/" + strconv.Itoa(in.fifoFD)
}

// unwrapPath drops the *PathError wrapper when the caller names the path.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// sessionKeyring names a container's session keyring.
func sessionKeyring(id string) string { return "_ses." + id }

// joinSessionKeyring joins the container's session keyring, made by the
// first process to ask (its init), so the container cannot read the
// host's keys. Kernels without keyrings, or that forbid it, are fine to
// skip.
func joinSessionKeyring(id string) error {
	if _, err := unix.KeyctlJoinSessionKeyring(sessionKeyring(id)); err != nil && err != unix.ENOSYS && err != unix.EPERM && err != unix.EACCES {
		return fmt.Errorf("join session keyring: %w", err)
	}
	return nil
}
