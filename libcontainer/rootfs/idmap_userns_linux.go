package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// usernsSet holds one user namespace fd per distinct mapping while mounts
// are made.
type usernsSet map[string]int

func (s usernsSet) get(m idmapping) (int, error) {
	k := m.key()
	if fd, ok := s[k]; ok {
		return fd, nil
	}
	var fd int
	var err error
	switch {
	case m.path != "":
		fd, err = unix.Open(m.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	default:
		fd, err = newUserns(m.uid, m.gid)
	}
	if err != nil {
		return -1, err
	}
	s[k] = fd
	return fd, nil
}

func (s usernsSet) close() {
	for _, fd := range s {
		unix.Close(fd)
	}
}

// newUserns returns an fd of a new user namespace with the given mappings.
// A namespace needs a process: a child is cloned into it and PTRACE_TRACEME
// stops it at its execve, before it runs a single instruction of the new
// program. We write its maps (we are privileged, so any mapping is
// allowed), open its namespace and kill it; the fd keeps the namespace
// alive.
//
// The maps are not left to the Go runtime (SysProcAttr.UidMappings): it
// writes /proc/PID/uid_map with the pid of our own pid namespace, and the
// init, in a new one, still has the host's /proc before pivot_root, where
// that pid is another process.
func newUserns(uid, gid []specs.LinuxIDMapping) (int, error) {
	h, err := startHolder()
	if err != nil {
		return -1, fmt.Errorf("create user namespace for idmap: %w", err)
	}
	defer h.stop()
	dir, err := h.procDir()
	if err != nil {
		return -1, fmt.Errorf("create user namespace for idmap: %w", err)
	}
	if err := writeIDMap(dir+"/uid_map", uid); err != nil {
		return -1, err
	}
	if err := writeIDMap(dir+"/gid_map", gid); err != nil {
		return -1, err
	}
	fd, err := unix.IoctlRetInt(h.pidfd, unix.PIDFD_GET_USER_NAMESPACE)
	if err != nil {
		// Before Linux 6.11.
		fd, err = unix.Open(dir+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return -1, fmt.Errorf("open user namespace for idmap: %w", err)
	}
	return fd, nil
}

// holder is the stopped child that holds a new user namespace.
type holder struct {
	p     *os.Process
	pidfd int
}

func startHolder() (*holder, error) {
	pidfd := -1
	attr := &os.ProcAttr{
		Env: []string{},
		Sys: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER, Ptrace: true, PidFD: &pidfd},
	}
	p, err := os.StartProcess("/proc/self/exe", []string{"tupper-idmap-userns"}, attr)
	if err != nil {
		return nil, err
	}
	h := &holder{p: p, pidfd: pidfd}
	if pidfd < 0 {
		// Idmapped mounts need Linux 5.12, and pidfds came with 5.2.
		h.stop()
		return nil, errors.New("no pidfd for the child")
	}
	return h, nil
}

func (h *holder) stop() {
	_ = h.p.Kill()
	_, _ = h.p.Wait()
	if h.pidfd >= 0 {
		unix.Close(h.pidfd)
	}
}

// procDir returns the child's directory in the mounted /proc. The pid must
// be the one that procfs knows, which is not ours when we are in a new pid
// namespace with the host's /proc. The pidfd's fdinfo, read through that
// procfs, gives the pid in its namespace. The child is not reaped until we
// are done, so its pid cannot be reused meanwhile.
func (h *holder) procDir() (string, error) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(h.pidfd))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || pid <= 0 {
				return "", fmt.Errorf("child not visible in /proc (fdinfo Pid %q)", strings.TrimSpace(v))
			}
			return "/proc/" + strconv.Itoa(pid), nil
		}
	}
	return "", errors.New("no Pid in the pidfd's fdinfo")
}

// writeIDMap writes a uid_map or gid_map in one write, as the kernel wants.
func writeIDMap(path string, m []specs.LinuxIDMapping) error {
	var b strings.Builder
	for _, e := range m {
		fmt.Fprintf(&b, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("idmap user namespace: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		return fmt.Errorf("idmap user namespace: write %s: %w", filepath.Base(path), err)
	}
	return nil
}
