package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// device is one node to create under the rootfs.
type device struct {
	path         string
	mode         uint32 // type (S_IFCHR, ...) and permissions
	major, minor int64
	uid, gid     uint32
}

// defaultDevices: "In addition to any devices configured with this setting,
// the runtime MUST also supply: /dev/null, /dev/zero, /dev/full, /dev/random,
// /dev/urandom, /dev/tty" -runtime-spec config-linux.md
var defaultDevices = [...]device{
	{path: "/dev/null", mode: unix.S_IFCHR | 0o666, major: 1, minor: 3},
	{path: "/dev/zero", mode: unix.S_IFCHR | 0o666, major: 1, minor: 5},
	{path: "/dev/full", mode: unix.S_IFCHR | 0o666, major: 1, minor: 7},
	{path: "/dev/random", mode: unix.S_IFCHR | 0o666, major: 1, minor: 8},
	{path: "/dev/urandom", mode: unix.S_IFCHR | 0o666, major: 1, minor: 9},
	{path: "/dev/tty", mode: unix.S_IFCHR | 0o666, major: 5, minor: 0},
}

// devSymlinks are the links every /dev gets: the standard ones ("the following
// standard symlinks MUST be setup within /dev/" -runtime-spec runtime-linux.md)
// and /dev/ptmx for the container's own devpts ("A bind-mount or symlink of the
// container's /dev/pts/ptmx" -config-linux.md).
var devSymlinks = [...][2]string{
	{"/proc/self/fd", "/dev/fd"},
	{"/proc/self/fd/0", "/dev/stdin"},
	{"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"},
	{"pts/ptmx", "/dev/ptmx"},
}

// needsDevSetup says whether Mount creates devices: not when /dev is a bind
// mount, which brings its own nodes (and may be the host's /dev).
func needsDevSetup(mounts []specs.Mount) bool {
	for _, m := range mounts {
		if isDev(m.Destination) && (m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")) {
			return false
		}
	}
	return true
}

// setupDev creates linux.devices and the default devices, then the /dev
// symlinks. What already exists is left alone and never followed.
func (r *root) setupDev(spec *specs.Spec) error {
	devs, err := devicesOf(spec)
	if err != nil {
		return err
	}
	bindNodes := false // set once mknod is refused, as in a user namespace
	for _, d := range devs {
		if err := r.createDevice(d, &bindNodes); err != nil {
			return err
		}
	}
	for _, l := range devSymlinks {
		if err := r.symlink(l[0], l[1]); err != nil {
			return err
		}
	}
	if hasKcore() {
		if err := r.symlink("/proc/kcore", "/dev/core"); err != nil {
			return err
		}
	}
	return nil
}

// devicesOf lists the nodes /dev gets: linux.devices, then the default
// devices the config does not name.
func devicesOf(spec *specs.Spec) ([]device, error) {
	var devs []device
	if spec.Linux != nil {
		devs = make([]device, 0, len(spec.Linux.Devices)+len(defaultDevices))
		for _, d := range spec.Linux.Devices {
			dev, err := specDevice(d)
			if err != nil {
				return nil, err
			}
			devs = append(devs, dev)
		}
	}
	for _, d := range defaultDevices {
		if !slices.ContainsFunc(devs, func(e device) bool { return path.Clean(e.path) == d.path }) {
			devs = append(devs, d)
		}
	}
	return devs, nil
}

// hasKcore: as runc does, /dev/core links to /proc/kcore only when the
// kernel has it (it can be compiled out).
func hasKcore() bool {
	_, err := os.Lstat("/proc/kcore")
	return err == nil
}

func specDevice(d specs.LinuxDevice) (device, error) {
	dev := device{path: d.Path, major: d.Major, minor: d.Minor}
	switch d.Type {
	case "c", "u":
		dev.mode = unix.S_IFCHR
	case "b":
		dev.mode = unix.S_IFBLK
	case "p":
		dev.mode = unix.S_IFIFO
		dev.major, dev.minor = 0, 0
	default:
		return device{}, fmt.Errorf("device %s: unknown type %q", d.Path, d.Type)
	}
	if d.FileMode != nil {
		dev.mode |= uint32(*d.FileMode) & 0o7777
	} else {
		dev.mode |= 0o666
	}
	if d.UID != nil {
		dev.uid = *d.UID
	}
	if d.GID != nil {
		dev.gid = *d.GID
	}
	return dev, nil
}

// createDevice makes d with mknod, owned by d.uid:d.gid of the container's user
// namespace. When mknod is not permitted (a user namespace) it bind-mounts the
// host's node onto an empty file instead, and never changes that node's owner
// or mode: it is the host's.
func (r *root) createDevice(d device, bindNodes *bool) error {
	dir, name, err := r.openParent(d.path)
	if err != nil {
		return fmt.Errorf("create parent of %s: %w", d.path, err)
	}
	defer unix.Close(dir)
	if !*bindNodes {
		err := unix.Mknodat(dir, name, d.mode, int(unix.Mkdev(uint32(d.major), uint32(d.minor))))
		switch err {
		case nil:
			if err := unix.Fchownat(dir, name, int(d.uid), int(d.gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown %s: %w", d.path, err)
			}
			// mknod applied the umask.
			if err := unix.Fchmodat(dir, name, d.mode&0o7777, 0); err != nil {
				return fmt.Errorf("chmod %s: %w", d.path, err)
			}
			return nil
		case unix.EEXIST:
			return nil
		case unix.EPERM:
			*bindNodes = true
		default:
			return fmt.Errorf("mknod %s: %w", d.path, err)
		}
	}
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err == unix.EEXIST {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", d.path, err)
	}
	unix.Close(fd)
	if fd, err = unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
		return fmt.Errorf("open %s: %w", d.path, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(d.path, r.target(fd, d.path), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount device %s: %w", d.path, err)
	}
	return nil
}

// symlink creates link -> target inside r unless link already exists.
func (r *root) symlink(target, link string) error {
	dir, name, err := r.openParent(link)
	if err != nil {
		return fmt.Errorf("create parent of %s: %w", link, err)
	}
	defer unix.Close(dir)
	if err := unix.Symlinkat(target, dir, name); err != nil && err != unix.EEXIST {
		return fmt.Errorf("symlink %s: %w", link, err)
	}
	return nil
}

// createConsole makes the empty /dev/console that BindConsole mounts over,
// now, while /dev may still be written to.
func (r *root) createConsole() error {
	dir, name, err := r.openParent("/dev/console")
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		// O_NOFOLLOW gives ELOOP on a symlink: see BindConsole.
		return err
	}
	return unix.Close(fd)
}

// BindConsole bind-mounts the pty slave at slavePath onto /dev/console. It runs
// after Pivot, in the container's root. "/dev/console is set up if terminal is
// enabled in the config by bind mounting the pseudoterminal pty to
// /dev/console." -runtime-spec config-linux.md
//
// Neither end is followed through a symlink and the slave must be a character
// device: an image whose /dev/console is a symlink must not get the pty mounted
// onto, say, /proc/sys/kernel/core_pattern (CVE-2025-52565).
func BindConsole(slavePath string) error {
	src, err := openNode(slavePath, unix.S_IFCHR)
	if err != nil {
		return fmt.Errorf("bind console: %w", err)
	}
	defer unix.Close(src)
	dst, err := unix.Open("/dev/console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		var f int
		if f, err = unix.Open("/dev/console", unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600); err == nil {
			unix.Close(f)
			dst, err = unix.Open("/dev/console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
	}
	if err != nil {
		return fmt.Errorf("bind console: open /dev/console: %w", err)
	}
	defer unix.Close(dst)
	var st unix.Stat_t
	if err := unix.Fstat(dst, &st); err != nil {
		return fmt.Errorf("bind console: stat /dev/console: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		return errors.New("bind console: /dev/console is not a file or character device")
	}
	viaProc := procFDUsable()
	from, to := slavePath, "/dev/console"
	if viaProc {
		from, to = fdPath(src), fdPath(dst)
	}
	if err := unix.Mount(from, to, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind mount %s on /dev/console: %w", slavePath, err)
	}
	return nil
}

// openNode opens p with O_PATH, not following a symlink, and checks its type.
func openNode(p string, typ uint32) (int, error) {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", p, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat %s: %w", p, err)
	}
	if st.Mode&unix.S_IFMT != typ {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: unexpected file type %#o", p, st.Mode&unix.S_IFMT)
	}
	return fd, nil
}

// procFDUsable says whether /proc/self/fd is procfs's, so that its magic links
// can name mount targets. After the pivot that is the container's /proc, which
// the spec may not mount.
func procFDUsable() bool {
	var st unix.Statfs_t
	return unix.Statfs("/proc/self/fd", &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}
