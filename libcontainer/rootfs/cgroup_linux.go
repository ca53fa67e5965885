package rootfs

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostCgroupRoot is where the host mounts its cgroup filesystems.
const hostCgroupRoot = "/sys/fs/cgroup"

// mountCgroup gives the container a view of its own cgroups at m.Destination.
// On a cgroup2 host that is a cgroup2 mount. On a v1 or hybrid host it is a
// tmpfs holding one directory per hierarchy the host has mounted, named like
// the host's ("cpu,cpuacct", with "cpu" and "cpuacct" symlinks to it): a fresh
// mount of the hierarchy when the container has its own cgroup namespace
// (which roots it at the container's cgroup), else a bind of the container's
// own cgroup directory.
func (r *root) mountCgroup(env *mountEnv, m *specs.Mount, o mountOptions) error {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return r.mountCgroup2(m, o)
	}
	hs, err := cgroupHierarchies(env.cgroupNS)
	if err != nil {
		return err
	}
	fd, err := r.openCreate(m.Destination, createDir)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	err = unix.Mount("tmpfs", r.target(fd, m.Destination), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755")
	unix.Close(fd)
	if err != nil {
		return err
	}
	dir, err := r.open(m.Destination) // the new tmpfs
	if err != nil {
		return fmt.Errorf("reopen mount point: %w", err)
	}
	defer unix.Close(dir)
	for _, h := range hs {
		if err := r.mountHierarchy(env, dir, m.Destination, h, o.flags); err != nil {
			return fmt.Errorf("%s: %w", h.name, err)
		}
	}
	flags := o.flags & remountFlags
	if flags&unix.MS_RDONLY != 0 {
		flags |= unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
		if err := r.remountBind(dir, m.Destination, flags); err != nil {
			return fmt.Errorf("remount read-only: %w", err)
		}
	}
	return r.afterMount(m.Destination, 0, o)
}

func (r *root) mountHierarchy(env *mountEnv, dir int, dest string, h hierarchy, flags uintptr) error {
	if err := unix.Mkdirat(dir, h.name, 0o755); err != nil {
		return err
	}
	fd, err := unix.Openat(dir, h.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	name := dest + "/" + h.name
	if env.cgroupNS {
		if err := unix.Mount(h.fstype, r.target(fd, name), h.fstype, flags&^(unix.MS_BIND|unix.MS_REC), h.options); err != nil {
			return err
		}
	} else {
		if err := unix.Mount(h.hostPath, r.target(fd, name), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if f := flags & remountFlags; f != 0 {
			sub, err := unix.Openat(dir, h.name, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			err = r.remountBind(sub, name, f)
			unix.Close(sub)
			if err != nil {
				return fmt.Errorf("remount: %w", err)
			}
		}
	}
	// Co-mounted controllers: cpu -> cpu,cpuacct and cpuacct -> cpu,cpuacct.
	if strings.IndexByte(h.name, ',') >= 0 {
		for c := range strings.SplitSeq(h.name, ",") {
			if err := unix.Symlinkat(h.name, dir, c); err != nil && err != unix.EEXIST {
				return fmt.Errorf("symlink %s: %w", c, err)
			}
		}
	}
	return nil
}

func (r *root) mountCgroup2(m *specs.Mount, o mountOptions) error {
	fd, err := r.openCreate(m.Destination, createDir)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	target := r.target(fd, m.Destination)
	err = unix.Mount("cgroup2", target, "cgroup2", o.flags&^(unix.MS_BIND|unix.MS_REC), o.data)
	var later uintptr
	if err == unix.EPERM || err == unix.EBUSY {
		// Not allowed a cgroup2 mount (a user namespace without its own
		// cgroup namespace): bind the container's own cgroup instead.
		var p string
		if p, err = ownCgroup2(); err == nil {
			err = unix.Mount(hostCgroupRoot+p, target, "", unix.MS_BIND|unix.MS_REC, "")
			later = o.flags & remountFlags
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	return r.afterMount(m.Destination, later, o)
}

// hierarchy is one cgroup hierarchy the host has mounted.
type hierarchy struct {
	name     string // directory under the container's cgroup mount, e.g. "cpu,cpuacct"
	fstype   string // "cgroup" or "cgroup2"
	options  string // data for a fresh mount: the controllers and name=
	hostPath string // the container's own cgroup directory on the host
}

// cgroupHierarchies lists the host's cgroup mounts (mountinfo) and, without
// a cgroup namespace, pairs each with this process's place in it
// (/proc/self/cgroup): the init has already been placed in the container's
// cgroups, so that place is the container's. With one, hostPath is left
// empty: fresh mounts are used instead, and the runtime makes the same list
// for the C init's plan before the init exists.
func cgroupHierarchies(cgroupNS bool) ([]hierarchy, error) {
	// Fresh mounts need no place in the hierarchies: every process is in
	// each mounted one, so /proc/self/cgroup would only list them again.
	var paths map[string]string // controllers field -> cgroup path
	if !cgroupNS {
		own, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return nil, err
		}
		paths = map[string]string{}
		for line := range bytes.Lines(own) {
			line = bytes.TrimSuffix(line, []byte("\n"))
			_, rest, _ := bytes.Cut(line, []byte(":"))
			ctrl, p, ok := bytes.Cut(rest, []byte(":"))
			if ok {
				paths[string(ctrl)] = string(p)
			}
		}
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var hs []hierarchy
	seen := map[string]bool{}
	for line := range bytes.Lines(info) {
		mi, ok := parseMountinfo(string(bytes.TrimSuffix(line, []byte("\n"))))
		if !ok || (mi.fstype != "cgroup" && mi.fstype != "cgroup2") {
			continue
		}
		key := ""
		if mi.fstype == "cgroup" {
			key = cgroupControllers(mi.superOptions)
		}
		if seen[key] {
			continue
		}
		h := hierarchy{name: path.Base(mi.mountPoint), fstype: mi.fstype, options: key}
		if mi.fstype == "cgroup2" && h.name == path.Base(hostCgroupRoot) {
			h.name = "unified"
		}
		if !cgroupNS {
			p, ok := paths[key]
			if !ok {
				continue
			}
			rel, ok := cutPathPrefix(p, mi.root)
			if !ok {
				continue // our cgroup is outside what this mount shows
			}
			h.hostPath = path.Join(mi.mountPoint, rel)
		}
		seen[key] = true
		hs = append(hs, h)
	}
	return hs, nil
}

// cutPathPrefix returns p relative to the directory prefix.
func cutPathPrefix(p, prefix string) (string, bool) {
	if prefix == "/" {
		return p, true
	}
	rel, ok := strings.CutPrefix(p, prefix)
	if !ok || (rel != "" && rel[0] != '/') {
		return "", false
	}
	return rel, true
}

// cgroupControllers keeps the controllers and name= of a v1 cgroup mount's
// super options, in the order /proc/self/cgroup lists them.
func cgroupControllers(superOptions string) string {
	var b strings.Builder
	for opt := range strings.SplitSeq(superOptions, ",") {
		switch {
		case opt == "rw", opt == "ro", opt == "noprefix", opt == "xattr",
			opt == "clone_children", opt == "cpuset_v2_mode",
			opt == "favordynmods", opt == "nofavordynmods",
			strings.HasPrefix(opt, "release_agent="):
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(opt)
	}
	return b.String()
}

// ownCgroup2 returns this process's cgroup2 path ("0::/path").
func ownCgroup2() (string, error) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for line := range bytes.Lines(own) {
		if p, ok := bytes.CutPrefix(line, []byte("0::")); ok {
			return string(bytes.TrimSuffix(p, []byte("\n"))), nil
		}
	}
	return "", fmt.Errorf("no cgroup2 entry in /proc/self/cgroup")
}

// mountinfoEntry holds the fields of one /proc/self/mountinfo line we use.
type mountinfoEntry struct {
	root, mountPoint, fstype, superOptions string
}

// parseMountinfo parses "36 35 98:0 /root /mnt opts [optional...] - fstype
// source superopts" (proc(5)).
func parseMountinfo(line string) (mountinfoEntry, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return mountinfoEntry{}, false
	}
	f := strings.Fields(pre)
	g := strings.Fields(post)
	if len(f) < 6 || len(g) < 3 {
		return mountinfoEntry{}, false
	}
	return mountinfoEntry{
		root:         unescapeMountinfo(f[3]),
		mountPoint:   unescapeMountinfo(f[4]),
		fstype:       g[0],
		superOptions: g[2],
	}, true
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space, ...).
func unescapeMountinfo(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
