package container

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	paths   []string // where to write, first that exists
	data    string   // what to write
}

func appArmorLabel(profile string) lsmLabel {
	return lsmLabel{
		field: "process.apparmorProfile", value: profile, lsm: "AppArmor", enabled: appArmorEnabled,
		// Kernels since 5.8 give each LSM its own directory; older ones
		// only the shared attr/exec, which AppArmor reads when it is the
		// major LSM.
		paths: []string{"/proc/thread-self/attr/apparmor/exec", "/proc/thread-self/attr/exec"},
		data:  "exec " + profile,
	}
}

func seLinuxLabel(label string) lsmLabel {
	return lsmLabel{
		field: "process.selinuxLabel", value: label, lsm: "SELinux", enabled: seLinuxEnabled,
		paths: []string{"/proc/thread-self/attr/exec"},
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

func (l lsmLabel) apply() error {
	var err error
	for _, p := range l.paths {
		err = os.WriteFile(p, []byte(l.data), 0)
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%s %q: %w", l.field, l.value, err)
	}
	return nil
}

// appArmorEnabled works from the host and from inside the container, which
// has its own /proc and maybe /sys but no securityfs. Reading the AppArmor
// proc attribute succeeds only when AppArmor is active (EINVAL when it is
// built in but another LSM was chosen); kernels before 5.8 lack the file,
// and then the module parameter tells.
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
