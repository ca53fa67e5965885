package rootfs

import (
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks is the kernel's MAXSYMLINKS: how many symlinks one lookup follows.
const maxSymlinks = 40

// create says what resolve makes when a path component is missing.
type create int

const (
	createNone create = iota
	createDir         // every missing component becomes a directory
	createFile        // as createDir, but the last component is an empty file
)

// root is a directory that path resolution treats as "/" and never leaves, the
// way the kernel resolves paths for a process chrooted into it: ".." stops at
// the root and an absolute symlink starts again from it. Images are untrusted;
// a symlink such as /proc -> /host/proc must not send a mount outside
// (CVE-2019-16884, CVE-2021-30465).
type root struct {
	fd   int    // O_PATH descriptor of the directory
	path string // its path, for targets when viaProc is false
	// viaProc says /proc/self/fd/N names the objects resolved here; mounts then
	// target that magic link, so a path swapped after resolution cannot
	// redirect them.
	viaProc bool
	// noOpenat2 is set once openat2 has turned out to be missing (ENOSYS) or
	// filtered (EPERM); lookups then walk component by component.
	noOpenat2 bool
}

func openRoot(dir string, viaProc bool) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return &root{fd: fd, path: dir, viaProc: viaProc}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// target returns what to hand mount(2) to reach fd, which was resolved from
// name: the fd's magic link, or after the pivot without a procfs, name itself
// (nothing can race us there yet).
func (r *root) target(fd int, name string) string {
	if r.viaProc {
		return fdPath(fd)
	}
	return path.Join(r.path, name)
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// open resolves name inside r, following symlinks the way a chroot would, and
// returns an O_PATH descriptor of what it names.
func (r *root) open(name string) (int, error) {
	return r.openCreate(name, createNone)
}

// openCreate is open, but creates what is missing according to c: directories,
// and for createFile an empty regular file as the last component.
func (r *root) openCreate(name string, c create) (int, error) {
	if !r.noOpenat2 {
		fd, walk, err := r.openat2(name)
		if !walk && (err != unix.ENOENT || c == createNone) {
			return fd, err
		}
	}
	return r.walk(name, c)
}

// openat2 resolves name with RESOLVE_IN_ROOT. walk says the caller must walk
// instead: the syscall is missing or filtered (remembered in r.noOpenat2), or
// the kernel kept reporting a concurrent rename or mount (EAGAIN).
func (r *root) openat2(name string) (fd int, walk bool, err error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if name == "" {
		name = "/"
	}
	for range 8 {
		fd, err := unix.Openat2(r.fd, name, &how)
		switch err {
		case unix.EINTR, unix.EAGAIN:
			continue
		case unix.ENOSYS, unix.EPERM:
			r.noOpenat2 = true
			return -1, true, err
		}
		return fd, false, err
	}
	return -1, true, unix.EAGAIN
}

// walk resolves name one component at a time: each component is opened
// O_NOFOLLOW relative to the directory descriptor before it, a symlink is read
// and its target spliced into the rest of the path, and ".." pops back to the
// previous directory without ever passing above r. Missing components are
// created according to c.
func (r *root) walk(name string, c create) (int, error) {
	dirs := []int{r.fd} // dirs[0] is r's and is never closed here
	defer func() {
		for _, fd := range dirs[1:] {
			unix.Close(fd)
		}
	}()
	var (
		links int
		buf   []byte
		rest  = name
	)
	for {
		var comp string
		comp, rest = nextComponent(rest)
		switch comp {
		case "":
			// Resolved: hand the last directory to the caller.
			top := dirs[len(dirs)-1]
			if len(dirs) == 1 {
				return unix.Dup(top)
			}
			dirs = dirs[:len(dirs)-1]
			return top, nil
		case ".":
			continue
		case "..":
			if len(dirs) > 1 {
				unix.Close(dirs[len(dirs)-1])
				dirs = dirs[:len(dirs)-1]
			}
			continue
		}
		last := strings.TrimLeft(rest, "/") == ""
		dir := dirs[len(dirs)-1]
		fd, err := unix.Openat(dir, comp, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT && c != createNone {
			if err := makeEntry(dir, comp, last && c == createFile); err != nil {
				return -1, err
			}
			// Reopen O_NOFOLLOW: if something raced a symlink in, it is
			// resolved below like any other.
			fd, err = unix.Openat(dir, comp, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			links++
			if links > maxSymlinks {
				unix.Close(fd)
				return -1, unix.ELOOP
			}
			if buf == nil {
				buf = make([]byte, unix.PathMax)
			}
			n, err := unix.Readlinkat(fd, "", buf)
			unix.Close(fd)
			if err != nil {
				return -1, err
			}
			target := string(buf[:n])
			if strings.HasPrefix(target, "/") {
				for _, d := range dirs[1:] {
					unix.Close(d)
				}
				dirs = dirs[:1]
			}
			rest = target + "/" + rest
		case unix.S_IFDIR:
			dirs = append(dirs, fd)
		default:
			if !last {
				unix.Close(fd)
				return -1, unix.ENOTDIR
			}
			return fd, nil
		}
	}
}

// makeEntry creates the missing name in dir: an empty file or a directory.
// Someone else creating it first is fine.
func makeEntry(dir int, name string, file bool) error {
	if !file {
		if err := unix.Mkdirat(dir, name, 0o755); err != nil && err != unix.EEXIST {
			return err
		}
		return nil
	}
	fd, err := unix.Openat(dir, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err == unix.EEXIST {
		return nil
	}
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// nextComponent splits the first path component off p, skipping slashes.
func nextComponent(p string) (comp, rest string) {
	p = strings.TrimLeft(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return p, ""
}

// openParent resolves the directory holding name inside r, creating missing
// directories, and returns its descriptor with the last component of name.
func (r *root) openParent(name string) (int, string, error) {
	name = strings.TrimRight(name, "/")
	i := strings.LastIndexByte(name, '/')
	dir, base := name[:i+1], name[i+1:]
	if base == "" || base == "." || base == ".." {
		return -1, "", unix.EINVAL
	}
	fd, err := r.openCreate(dir, createDir)
	return fd, base, err
}
