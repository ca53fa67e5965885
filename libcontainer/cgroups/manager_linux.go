package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// New probes the host and returns the Manager of the container's cgroup at
// cgroupsPath (linux.cgroupsPath). Nothing is created until Apply.
//
// "For cgroup v1 and v2 ... If the value is specified, the cgroups MUST be
// used as they are; if not specified, the runtime MAY choose any appropriate
// cgroup path" -runtime-spec config-linux.md. Like the cgroupfs drivers of
// the peers, an absolute path is taken from the root of each hierarchy, a
// relative one from the runtime's own cgroup there (/proc/self/cgroup; on a
// pure v2 host from its parent), and an empty one means the relative path id.
func New(cgroupsPath, id string) (Manager, error) {
	p := prober{root: "/sys/fs/cgroup", proc: "/proc", fsType: statfsType}
	return p.newManager(cgroupsPath, id)
}

func (p prober) newManager(cgroupsPath, id string) (Manager, error) {
	h, err := p.probe()
	if err != nil {
		return nil, fmt.Errorf("probe cgroups: %w", err)
	}
	return h.manager(cgroupsPath, id)
}

func (h *host) manager(cgroupsPath, id string) (Manager, error) {
	if cgroupsPath == "" {
		cgroupsPath = id
	}
	if cgroupsPath == "" {
		return nil, errors.New("linux.cgroupsPath: empty and no container id")
	}
	var own map[string]string
	if !filepath.IsAbs(cgroupsPath) {
		var err error
		if own, err = ownCgroups(h.proc); err != nil {
			return nil, fmt.Errorf("read own cgroup: %w", err)
		}
		if h.pureV2() {
			// The runtime's own cgroup holds processes, and under cgroup
			// v2's "no internal processes" rule its children could get no
			// controllers; its parent is the base, as in runc's v2 driver.
			own[""] = filepath.Dir(own[""])
		}
	}
	var unified string
	if h.unified != nil {
		var err error
		if unified, err = h.unified.dir(cgroupsPath, own[""]); err != nil {
			return nil, err
		}
	}
	if h.pureV2() {
		return &v2Manager{dir: unified, mountpoint: h.unified.mountpoint}, nil
	}
	m := &v1Manager{paths: map[string]string{}, unified: unified}
	for ctrl, hi := range h.v1 {
		dir, err := hi.dir(cgroupsPath, own[ctrl])
		if err != nil {
			return nil, err
		}
		m.paths[ctrl] = dir
	}
	return m, nil
}

// dir is where cgroupsPath lands in this hierarchy; own is the runtime's
// cgroup in it, used when cgroupsPath is relative.
func (hi hierarchy) dir(cgroupsPath, own string) (string, error) {
	p := cgroupsPath
	if !filepath.IsAbs(p) {
		// /proc/self/cgroup names the cgroup from the hierarchy's root;
		// the mount may show only the part below hi.root of it.
		base := "/"
		if rest, ok := strings.CutPrefix(own, hi.root); ok && (hi.root == "/" || rest == "" || rest[0] == '/') {
			base = "/" + rest
		}
		p = base + "/" + p
	}
	// Clean from "/" so that ".." can never climb out of the hierarchy.
	p = filepath.Join("/", p)
	if p == "/" {
		return "", fmt.Errorf("linux.cgroupsPath %q: is the root cgroup of %s", cgroupsPath, hi.mountpoint)
	}
	return filepath.Join(hi.mountpoint, p), nil
}

// Load returns the Manager of a cgroup that New placed earlier, from the
// directories its Paths reported. It touches nothing on the host.
func Load(paths map[string]string) (Manager, error) {
	if len(paths) == 0 {
		return nil, errors.New("load cgroup: no paths")
	}
	for ctrl, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("load cgroup: path of %q is not absolute: %q", ctrl, p)
		}
	}
	if dir, ok := paths[""]; ok {
		return &v2Manager{dir: dir}, nil
	}
	m := &v1Manager{paths: map[string]string{}}
	for ctrl, p := range paths {
		if ctrl == "unified" {
			m.unified = p
			continue
		}
		m.paths[ctrl] = p
	}
	return m, nil
}
