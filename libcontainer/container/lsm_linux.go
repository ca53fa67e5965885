package container

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// lsmLabel is a label for the process's exec from one Linux security
// module: process.apparmorProfile or process.selinuxLabel. Both are written
// to the init thread's proc attributes, which the kernel applies at the
// next execve of that thread and of no other.
type lsmLabel struct {
	field   string // "process.apparmorProfile"
	value   string // as in config.json
	lsm     string // "AppArmor"
	enabled func() bool
	paths   []string // where to write, under /proc: the first that exists
	data    string   // what to write
	// open opens a path for writing; nil is openProc (tests fake it).
	open func(path string) (io.WriteCloser, error)
}

func appArmorLabel(profile string) lsmLabel {
	return lsmLabel{
		field: "process.apparmorProfile", value: profile, lsm: "AppArmor", enabled: appArmorEnabled,
		// Kernels since 5.8 give each LSM its own directory; older ones
		// only the shared attr/exec, which AppArmor reads when it is the
		// major LSM.
		paths: []string{"thread-self/attr/apparmor/exec", "thread-self/attr/exec"},
		data:  "exec " + profile,
	}
}

func seLinuxLabel(label string) lsmLabel {
	return lsmLabel{
		field: "process.selinuxLabel", value: label, lsm: "SELinux", enabled: seLinuxEnabled,
		paths: []string{"thread-self/attr/exec"},
		data:  label,
	}
}

// check says so when the host lacks the LSM. runtime-spec leaves it open;
// running the process unconfined when the user asked for confinement would
// be the worse surprise.
func (l lsmLabel) check() error {
	if !l.enabled() {
		return fmt.Errorf("%s %q: %s is not enabled on this host", l.field, l.value, l.lsm)
	}
	return nil
}

// apply writes the label to the first of l.paths that opens. Only an open
// that finds no file moves on to the next path: the kernel also answers a
// write with ENOENT, when AppArmor has no profile by that name, and that
// must be reported as it is. The paths are opened through openProc: apply
// runs after pivot_root, in the container's /proc, where a mount over the
// attr file would take the label and leave the process unconfined
// (CVE-2019-16884) or send it into another procfs file (CVE-2025-52881).
func (l lsmLabel) apply() error {
	for i, p := range l.paths {
		f, err := l.openPath(p)
		if errors.Is(err, fs.ErrNotExist) && i < len(l.paths)-1 {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", l.field, l.value, err)
		}
		_, err = f.Write([]byte(l.data))
		f.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s %q: not loaded in the kernel's %s: %w", l.field, l.value, l.lsm, err)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", l.field, l.value, err)
		}
		return nil
	}
	return fmt.Errorf("%s %q: no path to write it to", l.field, l.value)
}

func (l lsmLabel) openPath(p string) (io.WriteCloser, error) {
	if l.open != nil {
		return l.open(p)
	}
	f, err := openProc(p, unix.O_WRONLY)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// appArmorEnabled works from the host and from inside the container, which
// has its own /proc and maybe /sys but no securityfs. Reading the AppArmor
// proc attribute succeeds only when AppArmor is active (EINVAL when it is
// built in but another LSM was chosen); kernels before 5.8 lack the file,
// and then the module parameter tells. These reads need not be verified as
// apply's writes are: a mount in the container's /proc can only make the
// answer wrong, and both wrong answers fail closed (a label refused by
// check, or a write that openProc or the kernel refuses).
func appArmorEnabled() bool {
	_, err := os.ReadFile("/proc/thread-self/attr/apparmor/current")
	if err == nil {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && bytes.HasPrefix(b, []byte("Y"))
}

// seLinuxEnabled: the kernel registers selinuxfs only when SELinux is
// enabled at boot, and /proc/filesystems lists it wherever it is mounted.
func seLinuxEnabled() bool {
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		return true
	}
	b, err := os.ReadFile("/proc/filesystems")
	return err == nil && bytes.Contains(b, []byte("\tselinuxfs\n"))
}
