// The C init: for a common container (new namespaces, no terminal, hooks,
// LSM labels or user namespace; see container/fastinit_linux.go for the
// whole list), the constructor sets the container up and executes its
// process itself, and the init never starts the Go runtime: half of what
// a `run` costs. The runtime turns the spec into a plan of plain
// operations (rootfs.Plan), with the Go init's option parsing and
// ordering, and sends it on the sync socket, followed by the v1 tasks
// files when the plan joins them (OP_JOIN), a byte once the device rules
// are written (OP_DEV_WAIT), and the process (fastexec.c's records). Each operation here does what the Go init's
// code for it does (named in its comment), with the same words on failure.
//
// Every path inside the rootfs is resolved with openat2(RESOLVE_IN_ROOT),
// as the Go init's root.openCreate does: the image is untrusted, and a
// symlink in it must not send a mount, a device or a mkdir outside
// (CVE-2019-16884, CVE-2021-30465). Mounts target the resolved fd's
// /proc/self/fd link, so a path swapped after resolution cannot redirect
// them.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "fastexec.h"
#define strerr tupper_strerr

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

// The operations; rootfs/plan_linux.go and nsenter/fastinit.go name them.
enum {
	OP_CGROUPNS = 'G',    // unshare the cgroup namespace (now in its cgroup)
	OP_HOSTNAME = 'H',    // s0 hostname, s1 domainname (each if not empty), s2 and s3 quoted
	OP_PROPAGATE = 'P',   // a: propagation of "/"; s0 the rootfsPropagation value when it is that (after the pivot)
	OP_ROOT = 'B',        // s0 rootfs: bind onto itself, then open it
	OP_MOUNT = 'm',       // s0 dest, s1 source, s2 type, s3 data, s4 type as written; a flags, c propagation
	OP_BIND = 'b',        // s0 dest, s1 source path, s2 source as written; a MS_REC or 0, b remount flags, c propagation
	OP_CGROUP1 = 'c',     // s0 dest, then (name, type, options) per hierarchy; a flags, b tmpfs remount flags, c propagation
	OP_DEVICE = 'd',      // s0 path; a mode, b rdev, c uid<<32|gid
	OP_SYMLINK = 'l',     // s0 target, s1 link
	OP_PIVOT = 'p',       // s0 rootfs
	OP_SYSCTL = 'S',      // s0 key quoted, s1 path under /proc, s2 value
	OP_READONLY = 'r',    // s0 path
	OP_MASK = 'k',        // s0 path
	OP_DEV_RDONLY = 'D',  // a: remount flags for /dev
	OP_ROOT_RDONLY = 'O', // root.readonly
	OP_FIFO = 'F',        // a: the exec FIFO's fd
	OP_JOIN = 'J',        // receive and join the cgroup (and network namespace)
	OP_DEV_WAIT = 'V',    // wait for the runtime's byte: the device rules are written
};

#define MAX_STRS 96

struct op {
	unsigned char code;
	uint64_t a, b, c;
	const char *s[MAX_STRS];
	int ns;
};

enum { CREATE_NONE, CREATE_DIR, CREATE_FILE };

// root is the rootfs until the pivot, then "/"; via_proc says mounts
// target /proc/self/fd links (before the pivot always: the runtime's
// /proc; after it, only when the container has a procfs there).
static int root = -1, via_proc = 1;
// ctx prefixes a failure with the operation it ended, as the Go init's
// wrapping does ("bind mount SRC on DEST: ").
static char ctx[2 * PATH_MAX];

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	char msg[PATH_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tupper_report("%s%s", ctx, msg);
}

// read_plan reads the operations: a u32 length, then records of a code
// byte, a u32 length, three u64 and NUL-terminated strings.
static struct op *read_plan(int fd, int *n)
{
	uint32_t total;
	unsigned char *buf = tupper_read_blob(fd, "set-up plan", &total);
	struct op *ops = calloc(total / 29 + 1, sizeof(*ops));
	if (ops == NULL)
		tupper_report("read set-up plan: out of memory");
	*n = 0;
	for (uint32_t off = 0; off + 5 <= total;) {
		struct op *o = &ops[*n];
		uint32_t len;
		memcpy(&len, buf + off + 1, 4);
		if (len < 24 || len > total - off - 5 || buf[off + 5 + len - 1] != '\0')
			tupper_report("read set-up plan: malformed record");
		o->code = buf[off];
		const unsigned char *v = buf + off + 5;
		memcpy(&o->a, v, 8);
		memcpy(&o->b, v + 8, 8);
		memcpy(&o->c, v + 16, 8);
		for (uint32_t i = 24; i < len;) {
			if (o->ns == MAX_STRS)
				tupper_report("read set-up plan: too many strings");
			o->s[o->ns++] = (const char *)v + i;
			i += (uint32_t)strlen((const char *)v + i) + 1;
		}
		off += 5 + len;
		(*n)++;
	}
	return ops;
}

// s returns an operation's string i, or "" when it has fewer.
static const char *s(const struct op *o, int i) { return i < o->ns ? o->s[i] : ""; }

static int resolve(const char *name)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	if (*name == '\0')
		name = "/";
	for (int i = 0; i < 8; i++) {
		int fd = (int)syscall(SYS_openat2, root, name, &how, sizeof(how));
		if (fd >= 0 || (errno != EINTR && errno != EAGAIN))
			return fd;
	}
	errno = EAGAIN;
	return -1;
}

// make_entry creates the missing name in dir: an empty file or a
// directory. Someone else creating it first is fine.
static int make_entry(int dir, const char *name, int file)
{
	if (!file)
		return mkdirat(dir, name, 0755) < 0 && errno != EEXIST ? -1 : 0;
	int fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	close(fd);
	return 0;
}

// open_create resolves name inside root and returns an O_PATH fd of it,
// creating what is missing as root.openCreate does: directories, and for
// CREATE_FILE an empty file last. Each prefix is resolved in the root and
// its missing last component made in the directory before it; a dangling
// symlink is followed by splicing its target into the path.
static int open_create_depth(const char *name, int create, int depth)
{
	int fd = resolve(name);
	if (fd >= 0 || errno != ENOENT || create == CREATE_NONE)
		return fd;
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", name) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int parent = resolve("/");
	if (parent < 0)
		return -1;
	for (size_t i = 0;;) {
		while (buf[i] == '/')
			i++;
		if (buf[i] == '\0')
			return parent;
		size_t start = i;
		while (buf[i] != '\0' && buf[i] != '/')
			i++;
		size_t end = i;
		char saved = buf[end];
		buf[end] = '\0';
		int last = name[end + strspn(name + end, "/")] == '\0';
		fd = resolve(buf);
		int err = errno;
		if (fd < 0 && err == ENOENT) {
			if (make_entry(parent, buf + start, last && create == CREATE_FILE) < 0) {
				err = errno;
				close(parent);
				errno = err;
				return -1;
			}
			fd = resolve(buf);
			err = errno;
			char link[PATH_MAX], next[PATH_MAX];
			ssize_t n;
			if (fd < 0 && err == ENOENT &&
			    (n = readlinkat(parent, buf + start, link, sizeof(link) - 1)) > 0) {
				link[n] = '\0';
				close(parent);
				if (depth == 40) {
					errno = ELOOP; // the kernel's MAXSYMLINKS, as root.walk counts
					return -1;
				}
				// An absolute target starts again at the root; a
				// relative one from the directory holding the link.
				int keep = link[0] == '/' ? 0 : (int)start;
				if (snprintf(next, sizeof(next), "%.*s/%s/%s", keep, buf, link, name + end) >= (int)sizeof(next)) {
					errno = ENAMETOOLONG;
					return -1;
				}
				return open_create_depth(next, create, depth + 1);
			}
		}
		close(parent);
		if (fd < 0) {
			errno = err; // resolve's, not readlinkat's
			return -1;
		}
		parent = fd;
		buf[end] = saved;
	}
}

static int open_create(const char *name, int create) { return open_create_depth(name, create, 0); }

// open_parent resolves, creating it, the directory holding name, and
// leaves name's last component in base.
static int open_parent(const char *name, char *base, size_t n)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", name) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	size_t len = strlen(dir);
	while (len > 0 && dir[len - 1] == '/')
		dir[--len] = '\0';
	char *slash = strrchr(dir, '/');
	const char *b = slash ? slash + 1 : dir;
	if (*b == '\0' || strcmp(b, ".") == 0 || strcmp(b, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	if (snprintf(base, n, "%s", b) >= (int)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	return open_create(dir, CREATE_DIR);
}

// target is what mount(2) is handed to reach fd, resolved from name.
static const char *target(int fd, const char *name, char *buf, size_t n)
{
	if (!via_proc)
		return name;
	snprintf(buf, n, "/proc/self/fd/%d", fd);
	return buf;
}

// after_mount is afterMount (rootfs/mount_linux.go): a bind remount with
// the flags a mount could not take, then the propagation.
static void after_mount(const char *dest, uint64_t flags, uint64_t prop)
{
	if (flags == 0 && prop == 0)
		return;
	char t[64];
	int fd = open_create(dest, CREATE_NONE);
	if (fd < 0)
		fail("reopen mount point: %s", strerr(errno));
	if (flags && mount("", target(fd, dest, t, sizeof(t)), "", flags | MS_BIND | MS_REMOUNT, NULL) < 0)
		fail("remount: %s", strerr(errno));
	if (prop && mount("", target(fd, dest, t, sizeof(t)), "", prop, NULL) < 0)
		fail("set propagation: %s", strerr(errno));
	close(fd);
}

// do_mount is mountFS: a filesystem on its (created) mount point.
static void do_mount(const struct op *o)
{
	char t[64];
	snprintf(ctx, sizeof(ctx), "mount %s on %s: ", s(o, 4), s(o, 0));
	int fd = open_create(s(o, 0), CREATE_DIR);
	if (fd < 0)
		fail("create mount point: %s", strerr(errno));
	if (mount(s(o, 1), target(fd, s(o, 0), t, sizeof(t)), s(o, 2), o->a, *s(o, 3) ? s(o, 3) : NULL) < 0)
		fail("%s", strerr(errno));
	close(fd);
	after_mount(s(o, 0), 0, o->c);
}

// do_bind is bindMount: the mount point is a directory for a directory,
// else a file.
static void do_bind(const struct op *o)
{
	char t[64];
	struct stat st;
	snprintf(ctx, sizeof(ctx), "bind mount %s on %s: ", s(o, 2), s(o, 0));
	if (stat(s(o, 1), &st) < 0)
		fail("stat source: %s", strerr(errno));
	int fd = open_create(s(o, 0), S_ISDIR(st.st_mode) ? CREATE_DIR : CREATE_FILE);
	if (fd < 0)
		fail("create mount point: %s", strerr(errno));
	if (mount(s(o, 1), target(fd, s(o, 0), t, sizeof(t)), NULL, MS_BIND | o->a, NULL) < 0)
		fail("%s", strerr(errno));
	close(fd);
	after_mount(s(o, 0), o->b, o->c);
}

// do_cgroup1 is mountCgroup on a v1 or hybrid host, for a container with
// its own cgroup namespace: a tmpfs holding a fresh mount of each
// hierarchy, with links for co-mounted controllers.
static void do_cgroup1(const struct op *o)
{
	char t[64];
	const char *dest = s(o, 0);
	snprintf(ctx, sizeof(ctx), "mount cgroup on %s: ", dest);
	int fd = open_create(dest, CREATE_DIR);
	if (fd < 0)
		fail("create mount point: %s", strerr(errno));
	if (mount("tmpfs", target(fd, dest, t, sizeof(t)), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
		fail("%s", strerr(errno));
	close(fd);
	int dir = open_create(dest, CREATE_NONE);
	if (dir < 0)
		fail("reopen mount point: %s", strerr(errno));
	for (int i = 1; i + 2 < o->ns; i += 3) {
		const char *name = o->s[i], *type = o->s[i + 1], *opts = o->s[i + 2];
		char sub_name[PATH_MAX];
		snprintf(sub_name, sizeof(sub_name), "%s/%s", dest, name);
		if (mkdirat(dir, name, 0755) < 0)
			fail("%s: %s", name, strerr(errno));
		int sub = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			fail("%s: %s", name, strerr(errno));
		if (mount(type, target(sub, sub_name, t, sizeof(t)), type, o->a, *opts ? opts : NULL) < 0)
			fail("%s: %s", name, strerr(errno));
		close(sub);
		if (strchr(name, ',') == NULL)
			continue;
		char each[256];
		snprintf(each, sizeof(each), "%s", name);
		for (char *save = NULL, *c = strtok_r(each, ",", &save); c; c = strtok_r(NULL, ",", &save))
			if (symlinkat(name, dir, c) < 0 && errno != EEXIST)
				fail("%s: symlink %s: %s", name, c, strerr(errno));
	}
	if (o->b && mount("", target(dir, dest, t, sizeof(t)), "", o->b | MS_BIND | MS_REMOUNT, NULL) < 0)
		fail("remount read-only: %s", strerr(errno));
	close(dir);
	after_mount(dest, 0, o->c);
}

// do_device is createDevice: mknod with the owner and mode asked for,
// leaving what exists alone. Where mknod is refused (a device cgroup
// without "m"), the host's node is bind-mounted onto an empty file, and
// never has its owner or mode changed: it is the host's.
static void do_device(const struct op *o)
{
	static int bind_nodes;
	char base[PATH_MAX], t[64];
	const char *path = s(o, 0);
	int dir = open_parent(path, base, sizeof(base));
	if (dir < 0)
		fail("create parent of %s: %s", path, strerr(errno));
	if (!bind_nodes) {
		if (mknodat(dir, base, (mode_t)o->a, (dev_t)o->b) == 0) {
			if (fchownat(dir, base, (uid_t)(o->c >> 32), (gid_t)(o->c & 0xffffffff), AT_SYMLINK_NOFOLLOW) < 0)
				fail("chown %s: %s", path, strerr(errno));
			// mknod applied the umask.
			if (fchmodat(dir, base, (mode_t)(o->a & 07777), 0) < 0)
				fail("chmod %s: %s", path, strerr(errno));
			close(dir);
			return;
		}
		if (errno == EEXIST) {
			close(dir);
			return;
		}
		if (errno != EPERM)
			fail("mknod %s: %s", path, strerr(errno));
		bind_nodes = 1;
	}
	int fd = openat(dir, base, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		close(dir);
		return;
	}
	if (fd < 0)
		fail("create %s: %s", path, strerr(errno));
	close(fd);
	if ((fd = openat(dir, base, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		fail("open %s: %s", path, strerr(errno));
	if (mount(path, target(fd, path, t, sizeof(t)), NULL, MS_BIND, NULL) < 0)
		fail("bind mount device %s: %s", path, strerr(errno));
	close(fd);
	close(dir);
}

// do_symlink is root.symlink: link -> target unless link exists.
static void do_symlink(const struct op *o)
{
	char base[PATH_MAX];
	int dir = open_parent(s(o, 1), base, sizeof(base));
	if (dir < 0)
		fail("create parent of %s: %s", s(o, 1), strerr(errno));
	if (symlinkat(s(o, 0), dir, base) < 0 && errno != EEXIST)
		fail("symlink %s: %s", s(o, 1), strerr(errno));
	close(dir);
}

// do_pivot is Pivot: the old root stacked on "." and detached, as
// pivot_root(2) allows; root becomes the new "/".
static void do_pivot(const struct op *o)
{
	if (chdir(s(o, 0)) < 0)
		fail("chdir to rootfs %s: %s", s(o, 0), strerr(errno));
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail("pivot_root: %s", strerr(errno));
	if (mount("", ".", "", MS_SLAVE | MS_REC, NULL) < 0)
		fail("make old root rslave: %s", strerr(errno));
	if (umount2(".", MNT_DETACH) < 0)
		fail("unmount old root: %s", strerr(errno));
	if (chdir("/") < 0)
		fail("chdir to /: %s", strerr(errno));
	close(root);
	if ((root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		fail("open /: %s", strerr(errno));
	// Finalize's procFDUsable: the spec may not mount a procfs.
	struct statfs st;
	via_proc = statfs("/proc/self/fd", &st) == 0 && st.f_type == PROC_SUPER_MAGIC;
}

// do_readonly is readonlyPath: a bind of the path onto itself, remounted
// read-only. A path the image lacks is skipped.
static void do_readonly(const struct op *o)
{
	char t[64];
	const char *p = s(o, 0);
	snprintf(ctx, sizeof(ctx), "make %s read-only: ", p);
	int fd = open_create(p, CREATE_NONE);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return;
	if (fd < 0)
		fail("%s", strerr(errno));
	if (mount(target(fd, p, t, sizeof(t)), target(fd, p, t, sizeof(t)), NULL, MS_BIND | MS_REC, NULL) < 0)
		fail("%s", strerr(errno));
	close(fd);
	// fd named what is under the new bind; reach the bind itself.
	if ((fd = open_create(p, CREATE_NONE)) < 0)
		fail("%s", strerr(errno));
	if (mount("", target(fd, p, t, sizeof(t)), "", MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail("%s", strerr(errno));
	close(fd);
}

// do_mask is maskPath: a directory under an empty read-only tmpfs, a file
// under a bind of /dev/null, which must be the null device itself and not
// a symlink the image made (CVE-2025-31133).
static void do_mask(const struct op *o)
{
	static int null = -1;
	char t[64], t2[64];
	const char *p = s(o, 0);
	struct stat st;
	snprintf(ctx, sizeof(ctx), "mask %s: ", p);
	int fd = open_create(p, CREATE_NONE);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return;
	if (fd < 0 || fstat(fd, &st) < 0)
		fail("%s", strerr(errno));
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target(fd, p, t, sizeof(t)), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
			fail("%s", strerr(errno));
		close(fd);
		return;
	}
	if (null < 0) {
		if ((null = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
			fail("open /dev/null: %s", strerr(errno));
		if (fstat(null, &st) < 0)
			fail("stat /dev/null: %s", strerr(errno));
		if (!S_ISCHR(st.st_mode))
			fail("/dev/null: unexpected file type %#o", st.st_mode & S_IFMT);
		if (st.st_rdev != makedev(1, 3))
			fail("/dev/null is not the null device");
	}
	if (mount(target(null, "/dev/null", t2, sizeof(t2)), target(fd, p, t, sizeof(t)), NULL, MS_BIND, NULL) < 0)
		fail("%s", strerr(errno));
	close(fd);
}

// statfs_flags maps statfs(2) f_flags to the MS_* flags they show.
static unsigned long statfs_flags(unsigned long f)
{
	return (f & ST_RDONLY ? MS_RDONLY : 0) | (f & ST_NOSUID ? MS_NOSUID : 0) |
	       (f & ST_NODEV ? MS_NODEV : 0) | (f & ST_NOEXEC ? MS_NOEXEC : 0);
}

static int join_late; // the constructor left OP_JOIN to the plan
static int sync_fd = -1;

static void run_op(const struct op *o, int *fifo)
{
	char t[64], why[PATH_MAX + 128];
	struct statfs sfs;
	int fd;
	ctx[0] = '\0';
	switch (o->code) {
	case OP_CGROUPNS:
		// After the constructor joined the cgroup, which becomes the
		// namespace's root.
		if (unshare(CLONE_NEWCGROUP) < 0)
			fail("unshare cgroup namespace: %s", strerr(errno));
		break;
	case OP_HOSTNAME:
		if (*s(o, 0) && sethostname(s(o, 0), strlen(s(o, 0))) < 0)
			fail("set hostname %s: %s", s(o, 2), strerr(errno));
		if (*s(o, 1) && setdomainname(s(o, 1), strlen(s(o, 1))) < 0)
			fail("set domainname %s: %s", s(o, 3), strerr(errno));
		break;
	case OP_PROPAGATE:
		if (mount("", "/", "", o->a, NULL) < 0) {
			if (*s(o, 0))
				fail("set propagation of / to %s: %s", s(o, 0), strerr(errno));
			fail("set propagation of /: %s", strerr(errno));
		}
		break;
	case OP_ROOT:
		// pivot_root(2): "new_root must be a path to a mount point".
		if (mount(s(o, 0), s(o, 0), NULL, MS_BIND | MS_REC, NULL) < 0)
			fail("bind mount rootfs %s onto itself: %s", s(o, 0), strerr(errno));
		// Opened after the bind, so lookups start in the new mount.
		if ((root = open(s(o, 0), O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			fail("open rootfs %s: %s", s(o, 0), strerr(errno));
		break;
	case OP_MOUNT:
		do_mount(o);
		break;
	case OP_BIND:
		do_bind(o);
		break;
	case OP_CGROUP1:
		do_cgroup1(o);
		break;
	case OP_DEVICE:
		do_device(o);
		break;
	case OP_SYMLINK:
		do_symlink(o);
		break;
	case OP_PIVOT:
		do_pivot(o);
		break;
	case OP_SYSCTL:
		if (tupper_proc_write(s(o, 1), s(o, 2), why, sizeof(why)) < 0)
			fail("linux.sysctl %s: %s", s(o, 0), why);
		break;
	case OP_READONLY:
		do_readonly(o);
		break;
	case OP_MASK:
		do_mask(o);
		break;
	case OP_DEV_RDONLY:
		if ((fd = open_create("/dev", CREATE_NONE)) < 0 ||
		    mount("", target(fd, "/dev", t, sizeof(t)), "", o->a | MS_BIND | MS_REMOUNT, NULL) < 0)
			fail("remount /dev read-only: %s", strerr(errno));
		close(fd);
		break;
	case OP_ROOT_RDONLY:
		// A bind remount sets every per-mount flag at once: keep nosuid,
		// nodev and noexec.
		if (statfs("/", &sfs) < 0 ||
		    mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | (statfs_flags(sfs.f_flags) & (MS_NOSUID | MS_NODEV | MS_NOEXEC)), NULL) < 0)
			fail("remount / read-only: %s", strerr(errno));
		break;
	case OP_FIFO:
		*fifo = (int)o->a;
		break;
	case OP_JOIN:
		if (join_late)
			tupper_join_cgroups_late();
		join_late = 0;
		break;
	case OP_DEV_WAIT: {
		char byte;
		ssize_t n;
		do
			n = read(sync_fd, &byte, 1);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			_exit(1); // the runtime gave up on us; it reports why
		if (n < 0)
			fail("wait for the device rules: %s", strerr(errno));
		break;
	}
	default:
		fail("set-up plan: unknown operation %c", o->code);
	}
}

static int64_t since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000000000 + (now.tv_nsec - t->tv_nsec);
}

// die_as_go: a signal the Go init would die of. The kernel drops a
// signal whose action is the default for the init of a pid namespace,
// so without a handler `tupper kill ID` (SIGTERM) would leave a created
// container be, where the Go runtime's handler ends the Go init with
// status 2.
static void die_as_go(int sig)
{
	(void)sig;
	_exit(2);
}

static void catch_signals(void)
{
	static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGTERM, SIGUSR1, SIGUSR2,
				   SIGALRM, SIGVTALRM, SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGPWR};
	struct sigaction sa = {.sa_handler = die_as_go}, old;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		// One the runtime's caller ignores stays ignored, as in Go.
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

// tupper_fast_init sets the container up, reports ready, waits on the exec
// FIFO for start, and executes the process, as the Go init's setup,
// waitForStart and startProcess do. The runtime sends the plan, the tasks
// files if the plan joins them (OP_JOIN), then the process; everything is
// read before anything is written back, so that it never waits on an init
// blocked in the FIFO.
void tupper_fast_init(int fd, int late)
{
	int nops, fifo = -1;
	struct timespec t;
	int64_t took[3];
	join_late = late;
	sync_fd = fd;
	catch_signals(); // execve resets them for the process
	struct op *ops = read_plan(sync_fd, &nops);
	took[0] = since(&tupper_began);
	clock_gettime(CLOCK_REALTIME, &t);
	for (int i = 0; i < nops; i++)
		run_op(&ops[i], &fifo);
	ctx[0] = '\0';
	// Never into the process outside its cgroup, whatever the plan said.
	if (join_late)
		tupper_join_cgroups_late();
	// The process comes last: the runtime compiles its seccomp filter
	// while the set-up runs.
	struct proc p;
	tupper_fx_parse(sync_fd, &p);
	took[1] = since(&t);
	clock_gettime(CLOCK_REALTIME, &t);
	tupper_fx_prepare(&p);
	// Looked up now, as the Go init does, so a missing command fails
	// create (podman turns only that into exit code 127), and again after
	// the release.
	tupper_fx_look_path(&p);
	took[2] = since(&t);
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fifo);
	if (fifo < 0 || access(link, W_OK) < 0)
		tupper_report("exec fifo: %s (is /proc mounted in the container?)", strerr(fifo < 0 ? EBADF : errno));
	// The steps as the Go init reports them (protocol.go's message), and
	// when the constructor began, in RFC 3339.
	char ready[512], stamp[32];
	struct tm tm;
	gmtime_r(&tupper_began.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(ready, sizeof(ready),
			 "{\"type\":\"ready\",\"began\":\"%s.%09ldZ\",\"steps\":["
			 "{\"name\":\"constructor and plan\",\"took\":%lld},"
			 "{\"name\":\"set up\",\"took\":%lld},"
			 "{\"name\":\"process attributes\",\"took\":%lld}]}\n",
			 stamp, tupper_began.tv_nsec, (long long)took[0], (long long)took[1], (long long)took[2]);
	if (write(sync_fd, ready, (size_t)n) != n)
		_exit(1);
	close(sync_fd);
	// Blocks until start opens the FIFO for reading. Nobody to tell of a
	// failure: start has not run, and exiting makes the container stopped.
	int w = open(link, O_WRONLY | O_CLOEXEC);
	if (w < 0)
		_exit(1);
	close(fifo);
	if (write(w, "", 1) != 1)
		_exit(1);
	tupper_report_plain(w);
	const char *path = tupper_fx_look_path(&p);
	tupper_fx_finish(&p);
	execve(path, p.argv, p.envp);
	tupper_report("exec: \"%s\": %s", p.argv[0], strerr(errno));
}
