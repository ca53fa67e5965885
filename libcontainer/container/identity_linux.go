package container

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/tupper-runtime/tupper/libcontainer/bundle"
)

// setIdentity switches to process.user and leaves exactly the capabilities
// of process.capabilities. The order matters: the bounding set can only be
// reduced while CAP_SETPCAP is effective, the uid change must keep the
// permitted set (PR_SET_KEEPCAPS), and ambient capabilities can only be
// raised once they are permitted and inheritable.
func setIdentity(p *specs.Process) error {
	caps := p.Capabilities
	var sets capSets
	if caps != nil {
		var err error
		if sets, err = parseCapSets(caps); err != nil {
			return err
		}
		if err := dropBounding(sets.bounding); err != nil {
			return err
		}
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("keep capabilities: %w", err)
		}
	}
	u := p.User
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	if err := unix.Setgroups(groups); err != nil && !(len(groups) == 0 && err == unix.EPERM) {
		return fmt.Errorf("process.user.additionalGids: setgroups: %w", err)
	}
	if err := unix.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("process.user.gid %d: %w", u.GID, err)
	}
	if err := unix.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("process.user.uid %d: %w", u.UID, err)
	}
	if caps == nil {
		return nil
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		data[i].Effective = uint32(sets.effective >> (32 * i))
		data[i].Permitted = uint32(sets.permitted >> (32 * i))
		data[i].Inheritable = uint32(sets.inheritable >> (32 * i))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("process.capabilities: capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("process.capabilities.ambient: %w", err)
	}
	// The kernel only lets a capability be ambient when it is permitted and
	// inheritable. runc's own default config lists ambient capabilities
	// without inheritable ones and runs, so those are skipped, not an error.
	ambient := sets.ambient & sets.permitted & sets.inheritable
	for c := 0; c < 64; c++ {
		if ambient&(1<<c) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("process.capabilities.ambient %s: %w", bundle.Capabilities()[c], err)
		}
	}
	return nil
}

type capSets struct {
	bounding, effective, permitted, inheritable, ambient uint64
}

func parseCapSets(c *specs.LinuxCapabilities) (capSets, error) {
	var s capSets
	for _, set := range []struct {
		name  string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &s.bounding},
		{"effective", c.Effective, &s.effective},
		{"permitted", c.Permitted, &s.permitted},
		{"inheritable", c.Inheritable, &s.inheritable},
		{"ambient", c.Ambient, &s.ambient},
	} {
		for i, name := range set.names {
			n, ok := bundle.CapabilityNumber(name)
			if !ok {
				return s, fmt.Errorf("process.capabilities.%s[%d] %q: unknown capability", set.name, i, name)
			}
			*set.mask |= 1 << n
		}
	}
	return s, nil
}

// dropBounding removes every capability not in keep from the bounding set,
// up to the last one this kernel knows (PR_CAPBSET_READ fails past it).
func dropBounding(keep uint64) error {
	for c := 0; c < 64; c++ {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil {
			break
		}
		if keep&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("process.capabilities.bounding: drop %d: %w", c, err)
		}
	}
	return nil
}
