package container

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mapPlan is how the uid and gid maps of a new user namespace get written
// from outside it. The kernel takes a map from a process that has
// CAP_SETUID (CAP_SETGID for gid_map) in the parent user namespace, or else
// only a single line mapping the writer's own effective id, and for gid_map
// only once setgroups is "deny" (user_namespaces(7), "Defining user and
// group ID mappings"). Anything else an unprivileged runtime must leave to
// the setuid helpers newuidmap and newgidmap, which check it against
// /etc/subuid and /etc/subgid.
type mapPlan struct {
	uidHelper string // path of newuidmap, "" when tupper writes uid_map
	gidHelper string // path of newgidmap, "" when tupper writes gid_map
	// denySetgroups: gid_map maps only our own gid, without CAP_SETGID;
	// setgroups must be denied before the kernel takes it.
	denySetgroups bool
}

// direct tells whether tupper writes both maps itself.
func (m *mapPlan) direct() bool {
	return m.uidHelper == "" && m.gidHelper == "" && !m.denySetgroups
}

// planMaps decides, for the maps of spec's new user namespace, what the
// calling process may write and which helper it needs for the rest. A
// missing helper is an error naming the field that needs it.
func planMaps(spec *specs.Spec) (*mapPlan, error) {
	m := &mapPlan{}
	if !hasNewNamespace(spec, specs.UserNamespace) {
		return m, nil
	}
	euid, egid := os.Geteuid(), os.Getegid()
	var err error
	if !hasCap(unix.CAP_SETUID) && !ownIDOnly(spec.Linux.UIDMappings, euid) {
		if m.uidHelper, err = findHelper("newuidmap", "linux.uidMappings", "uid", euid, "CAP_SETUID"); err != nil {
			return nil, err
		}
	}
	if !hasCap(unix.CAP_SETGID) {
		if ownIDOnly(spec.Linux.GIDMappings, egid) {
			m.denySetgroups = true
		} else if m.gidHelper, err = findHelper("newgidmap", "linux.gidMappings", "gid", egid, "CAP_SETGID"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ownIDOnly tells whether m is the one mapping the kernel lets an
// unprivileged process write: its own id, once.
func ownIDOnly(m []specs.LinuxIDMapping, id int) bool {
	return len(m) == 1 && m[0].Size == 1 && int64(m[0].HostID) == int64(id)
}

func findHelper(name, field, kind string, id int, capName string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s: mapping ids other than the caller's own %s %d without %s needs %s (package uidmap): %w",
			field, kind, id, capName, name, err)
	}
	return path, nil
}

// writeUserMaps answers the constructor's request for the maps of the user
// namespace it created: they must be written from outside it. The reply
// byte says whether root is mapped, so it can become root in it.
func (p *initProcess) writeUserMaps(spec *specs.Spec) error {
	m, err := p.ch.expect(msgUserMap)
	if err != nil {
		return err
	}
	if err := p.maps.write(m.Pid, spec.Linux.UIDMappings, spec.Linux.GIDMappings); err != nil {
		return err
	}
	reply := []byte{'0'}
	if mapsZero(spec.Linux.UIDMappings) && mapsZero(spec.Linux.GIDMappings) {
		reply[0] = '1'
	}
	if _, err := p.parent.Write(reply); err != nil {
		return fmt.Errorf("answer user namespace request: %w", err)
	}
	return nil
}

// write writes the maps of pid's user namespace, through the helpers where
// the plan says so.
func (m *mapPlan) write(pid int, uid, gid []specs.LinuxIDMapping) error {
	dir := "/proc/" + strconv.Itoa(pid)
	if m.uidHelper != "" {
		if err := runHelper(m.uidHelper, pid, uid); err != nil {
			return fmt.Errorf("linux.uidMappings: %w", err)
		}
	} else if err := os.WriteFile(dir+"/uid_map", formatIDMap(uid), 0); err != nil {
		return fmt.Errorf("linux.uidMappings: write %s/uid_map: %w", dir, unwrapPath(err))
	}
	if m.denySetgroups {
		if err := os.WriteFile(dir+"/setgroups", []byte("deny"), 0); err != nil {
			return fmt.Errorf("linux.gidMappings: write %s/setgroups: %w", dir, unwrapPath(err))
		}
	}
	if m.gidHelper != "" {
		// newgidmap denies setgroups itself unless /etc/subgid grants a
		// range: a process holding only its own gid must not drop it.
		if err := runHelper(m.gidHelper, pid, gid); err != nil {
			return fmt.Errorf("linux.gidMappings: %w", err)
		}
	} else if err := os.WriteFile(dir+"/gid_map", formatIDMap(gid), 0); err != nil {
		return fmt.Errorf("linux.gidMappings: write %s/gid_map: %w", dir, unwrapPath(err))
	}
	return nil
}

// runHelper runs `newuidmap PID ID HOSTID SIZE ...` (or newgidmap). Its
// complaint, on stderr, says which range /etc/subuid does not grant.
func runHelper(path string, pid int, maps []specs.LinuxIDMapping) error {
	args := []string{strconv.Itoa(pid)}
	for _, e := range maps {
		args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10),
			strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
	}
	cmd := exec.Command(path, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return fmt.Errorf("%s %s: %w", path, strings.Join(args, " "), err)
	}
	return nil
}

func formatIDMap(m []specs.LinuxIDMapping) []byte {
	var b []byte
	for _, e := range m {
		b = strconv.AppendUint(b, uint64(e.ContainerID), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(e.HostID), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(e.Size), 10)
		b = append(b, '\n')
	}
	return b
}

// hasCap tells whether the calling thread has capability c effective in
// its own user namespace.
func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}
