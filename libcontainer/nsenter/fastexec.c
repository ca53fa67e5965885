// The fast path of `tupper exec`: once the constructor has joined the
// container and forked, a plain process (no terminal, LSM label, scheduler
// or other attribute only the Go init handles) is set up here and executed
// without starting the Go runtime a second time. The parent sends the
// process as one length-prefixed record stream (see fastexec.go) on the
// sync socket; errors go back as the same JSON lines the Go init writes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
// The inode number of procfs's root (fs/proc/internal.h).
#define PROC_ROOT_INO 1
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#include "fastexec.h"
#define strerr tupper_strerr

int tupper_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = 0;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

unsigned char *tupper_read_blob(int fd, const char *what, uint32_t *len)
{
	uint32_t total;
	if (tupper_read_full(fd, &total, 4) < 0)
		tupper_report("read %s: %s", what, errno ? strerr(errno) : "unexpected end");
	if (total > (64u << 20))
		tupper_report("read %s: %u bytes, too large", what, total);
	unsigned char *buf = malloc(total + 1);
	if (buf == NULL)
		tupper_report("read %s: out of memory", what);
	if (tupper_read_full(fd, buf, total) < 0)
		tupper_report("read %s: %s", what, errno ? strerr(errno) : "unexpected end");
	buf[total] = '\0';
	*len = total;
	return buf;
}

int tupper_join_keyring(const char *name)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name) < 0 &&
	    errno != ENOSYS && errno != EPERM && errno != EACCES)
		return -1;
	return 0;
}

static uint32_t u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

// need refuses a record shorter than its fixed fields.
static void need(uint32_t len, uint32_t n)
{
	if (len < n)
		tupper_report("read process: malformed record");
}

// tupper_fx_parse reads records: tag (1 byte), length (u32, native
// order), value.
void tupper_fx_parse(int fd, struct proc *p)
{
	uint32_t total;
	unsigned char *buf = tupper_read_blob(fd, "process", &total);
	memset(p, 0, sizeof(*p));
	p->root_fd = -1;
	p->argv = calloc(total / 5 + 2, sizeof(char *));
	p->envp = calloc(total / 5 + 2, sizeof(char *));
	if (p->argv == NULL || p->envp == NULL)
		tupper_report("exec: out of memory");
	for (uint32_t off = 0; off + 5 <= total;) {
		unsigned char tag = buf[off];
		uint32_t len = u32(buf + off + 1);
		unsigned char *v = buf + off + 5;
		if (len > total - off - 5)
			tupper_report("exec: malformed process record");
		off += 5 + len;
		// Strings are sent with their NUL.
		switch (tag) {
		case 'a': p->argv[p->argc++] = (char *)v; break;
		case 'e': p->envp[p->envc++] = (char *)v; break;
		case 'c': p->cwd = (char *)v; break;
		case 'u': need(len, 8); p->uid = u32(v); p->gid = u32(v + 4); break;
		case 'g': need(len, 4); if (p->ngroups < 64) p->groups[p->ngroups++] = u32(v); break;
		case 'k': need(len, 40); p->has_caps = 1; for (int i = 0; i < 5; i++) p->caps[i] = u64(v + 8 * i); break;
		case 'C':
			// capability names by number, NUL-separated
			for (uint32_t i = 0; i < len && p->ncap_names < 64; i += (uint32_t)strlen((char *)v + i) + 1)
				p->cap_names[p->ncap_names++] = (char *)v + i;
			break;
		case 'n': p->nnp = 1; break;
		case 'm': need(len, 4); p->has_umask = 1; p->umask = u32(v); break;
		case 'o': p->oom = (char *)v; break;
		case 's': need(len, 4); p->filter_flags = u32(v); p->filter = v + 4; p->filter_len = len - 4; break;
		case 'f': need(len, 4); p->preserve = u32(v); break;
		case 'R': need(len, 4); p->root_fd = (int)u32(v); break;
		case 'W': p->make_cwd = 1; break;
		case 'K': p->keyring = (const char *)v; break;
		case 'r':
			// resource, soft, hard, then the type's name for errors
			if (p->nrlimits == MAX_RLIMITS || len < 21)
				tupper_report("process.rlimits: too many or malformed");
			p->rlimits[p->nrlimits].resource = (int)u32(v);
			p->rlimits[p->nrlimits].lim.rlim_cur = u64(v + 4);
			p->rlimits[p->nrlimits].lim.rlim_max = u64(v + 12);
			p->rlimits[p->nrlimits].name = (const char *)v + 20;
			p->nrlimits++;
			break;
		}
	}
}

// reopen_devnull points stdio that is the host's /dev/null at the
// container's, so the container cannot reach the host's node.
static void reopen_devnull(void)
{
	int null = open("/dev/null", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct stat ours, st;
	if (null < 0)
		return;
	if (fstat(null, &ours) == 0 && S_ISCHR(ours.st_mode)) {
		for (int fd = 0; fd < 3; fd++)
			if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ours.st_rdev &&
			    (st.st_dev != ours.st_dev || st.st_ino != ours.st_ino) && dup2(null, fd) < 0)
				tupper_report("reopen /dev/null for stdio: %s", strerr(errno));
	}
	close(null);
}

// executable is checkExecutable (container/process_linux.go): 0, or -1
// with the reason in why, as Go words it ("stat PATH: ERR", or "permission
// denied" for a directory or a file without an execute bit); *denied says
// the reason is EACCES.
static int executable(const char *path, char *why, size_t n, int *denied)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		*denied = errno == EACCES;
		snprintf(why, n, "stat %s: %s", path, strerr(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111)) {
		*denied = 1;
		snprintf(why, n, "%s", strerr(EACCES));
		return -1;
	}
	return 0;
}

// look_path finds argv[0] with the container's PATH, with the words of the
// Go init (lookPath) and runc, which dockerd and podman turn into exit
// codes: a file that is there but may not be executed is reported by the
// first such reason.
const char *tupper_fx_look_path(struct proc *p)
{
	const char *file = p->argv[0], *path = NULL;
	char why[PATH_MAX + 64], first[PATH_MAX + 64] = "";
	int denied = 0;
	if (strchr(file, '/')) {
		if (executable(file, why, sizeof(why), &denied) == 0)
			return file;
		tupper_report("exec: \"%s\": %s", file, why);
	}
	for (int i = p->envc - 1; i >= 0 && path == NULL; i--)
		if (strncmp(p->envp[i], "PATH=", 5) == 0)
			path = p->envp[i] + 5;
	if (path == NULL)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	static char buf[PATH_MAX];
	for (const char *s = path;;) {
		const char *e = strchr(s, ':');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0)
			snprintf(buf, sizeof(buf), "./%s", file);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, s, file);
		if (executable(buf, why, sizeof(why), &denied) == 0)
			return buf;
		if (denied && first[0] == '\0')
			snprintf(first, sizeof(first), "%s", why);
		if (e == NULL)
			break;
		s = e + 1;
	}
	if (first[0] != '\0')
		tupper_report("exec: \"%s\": %s", file, first);
	tupper_report("exec: \"%s\": executable file not found in $PATH", file);
}

static void load_seccomp(struct proc *p)
{
	if (p->filter == NULL)
		return;
	struct sock_fprog prog = {
		.len = (unsigned short)(p->filter_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)p->filter,
	};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->filter_flags, &prog) < 0)
		tupper_report("linux.seccomp: load filter: %s", strerr(errno));
}

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how how = {.flags = flags, .resolve = resolve};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

// tupper_proc_write: the container controls its mount namespace, and a
// symlink mounted over /proc/self, or a procfs file bound over the target,
// would otherwise take the write (CVE-2025-52881 class). /proc must be the
// root of a procfs, "self" is followed on that mount only, and the file is
// opened beneath it without symlinks or crossing a mount, and checked to be
// on procfs.
int tupper_proc_write(const char *rel, const char *value, char *why, size_t n)
{
	struct statfs sfs;
	struct stat st;
	int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC), base = -1, fd = -1, ret = -1;
	if (proc < 0) {
		snprintf(why, n, "open /proc: %s", strerr(errno));
		return -1;
	}
	if (fstatfs(proc, &sfs) < 0 || fstat(proc, &st) < 0 || sfs.f_type != PROC_SUPER_MAGIC || st.st_ino != PROC_ROOT_INO) {
		snprintf(why, n, "open /proc/%s: /proc is not the root of a procfs", rel);
		goto out;
	}
	const char *rest = rel;
	base = proc;
	size_t first = strcspn(rel, "/");
	if (rel[first] == '/' && ((first == 4 && strncmp(rel, "self", 4) == 0) ||
				  (first == 11 && strncmp(rel, "thread-self", 11) == 0))) {
		char name[16];
		snprintf(name, sizeof(name), "%.*s", (int)first, rel);
		base = openat2_(proc, name, O_PATH | O_DIRECTORY | O_CLOEXEC,
				RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
		if (base < 0) {
			snprintf(why, n, "open /proc/%s: %s: %s", rel, name, strerr(errno));
			goto out;
		}
		rest = rel + first + 1;
	}
	fd = openat2_(base, rest, O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
		      RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		snprintf(why, n, "open /proc/%s: %s", rel, strerr(errno));
	else if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
		snprintf(why, n, "open /proc/%s: not on procfs", rel);
	else if (write(fd, value, strlen(value)) < 0)
		snprintf(why, n, "write /proc/%s: %s", rel, strerr(errno));
	else
		ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (base >= 0 && base != proc)
		close(base);
	close(proc);
	return ret;
}

// chroot_root puts the process in the root of a container without a mount
// namespace (the directory its init chrooted into, opened by tupper exec):
// there was no mount namespace to join, and it would stay on the runtime's
// "/". The Go init does the same (chrootExec).
static void chroot_root(int fd)
{
	if (fchdir(fd) < 0)
		tupper_report("chdir to the container's root: %s", strerr(errno));
	if (chroot(".") < 0)
		tupper_report("chroot to the container's root: %s", strerr(errno));
	if (chdir("/") < 0)
		tupper_report("chdir to /: %s", strerr(errno));
	close(fd);
}

// check_cwd refuses a cwd outside the process's root, as the Go init does
// (prepareProcess, with the same words). CVE-2024-21626: a cwd reached
// through a directory fd of the runtime's, or a /proc/PID/cwd link that
// chdir follows with the runtime's privileges, can be the host's tree;
// the kernel's getcwd then starts with "(unreachable)" instead of "/".
// The raw syscall, because glibc's getcwd may fall back to walking "..".
static void check_cwd(const char *cwd)
{
	char buf[PATH_MAX];
	long n = syscall(SYS_getcwd, buf, sizeof(buf));
	if (n < 1 || buf[0] != '/')
		tupper_report("process.cwd %s: resolves outside the container (\"%s\")", cwd, n > 0 ? buf : "");
}

// mkdir_all makes dir and its missing parents as Go's os.MkdirAll does,
// with its words for a failure.
static int mkdir_all(const char *dir, char *why, size_t n)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(why, n, "mkdir %s: %s", dir, strerr(ENOTDIR));
		return -1;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	size_t len = strlen(parent);
	while (len > 1 && parent[len - 1] == '/')
		parent[--len] = '\0';
	char *slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent) {
		*slash = '\0';
		if (mkdir_all(parent, why, n) < 0)
			return -1;
	}
	if (mkdir(dir, 0755) < 0 && !(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode))) {
		snprintf(why, n, "mkdir %s: %s", dir, strerr(errno));
		return -1;
	}
	return 0;
}

// tupper_fx_prepare applies what the Go init's prepareProcess does, which
// create reports: rlimits, oomScoreAdj, umask and the working directory.
void tupper_fx_prepare(struct proc *p)
{
	if (p->argc == 0)
		tupper_report("exec: no process args");
	// The container's, not the caller's (joinSessionKeyring).
	if (p->keyring && tupper_join_keyring(p->keyring) < 0)
		tupper_report("join session keyring: %s", strerr(errno));
	for (int i = 0; i < p->nrlimits; i++)
		if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].lim) < 0)
			tupper_report("process.rlimits[%d]: setrlimit %s: %s", i, p->rlimits[i].name, strerr(errno));
	// oomScoreAdj before the chroot: without a mount namespace the
	// container's root has no /proc, and until the chroot this is the
	// runtime's, which the container cannot mount over (the Go init keeps
	// it open instead).
	char why[PATH_MAX + 128];
	if (p->oom && tupper_proc_write("self/oom_score_adj", p->oom, why, sizeof(why)) < 0)
		tupper_report("process.oomScoreAdj: %s", why);
	if (p->root_fd >= 0)
		chroot_root(p->root_fd);
	reopen_devnull();
	umask(p->has_umask ? p->umask : 022);
	const char *cwd = p->cwd ? p->cwd : "/";
	if (p->make_cwd && mkdir_all(cwd, why, sizeof(why)) < 0)
		tupper_report("process.cwd: %s", why);
	if (chdir(cwd) < 0)
		tupper_report("process.cwd: chdir %s: %s", cwd, strerr(errno));
	check_cwd(cwd);
}

// tupper_fx_finish leaves the process ready for execve: only stdio and the
// preserved fds stay open across it, and it has its seccomp filter,
// identity and capabilities. The order is the Go init's
// (identity_linux.go): bounding set while CAP_SETPCAP is effective, uid
// change keeping the permitted set, then the sets, then ambient; seccomp
// before the caps go without no_new_privs, and after no_new_privs with it.
void tupper_fx_finish(struct proc *p)
{
	if (syscall(SYS_close_range, 3 + p->preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		tupper_report("close fds: %s", strerr(errno));
	if (!p->nnp)
		load_seccomp(p);
	if (p->has_caps) {
		for (int c = 0; c < 64; c++) {
			if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
				break;
			if (!(p->caps[0] & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
				tupper_report("process.capabilities.bounding: drop %d: %s", c, strerr(errno));
		}
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			tupper_report("keep capabilities: %s", strerr(errno));
	}
	if (setgroups((size_t)p->ngroups, p->groups) < 0 && !(p->ngroups == 0 && errno == EPERM))
		tupper_report("process.user.additionalGids: setgroups: %s", strerr(errno));
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		tupper_report("process.user.gid %u: %s", p->gid, strerr(errno));
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		tupper_report("process.user.uid %u: %s", p->uid, strerr(errno));
	if (p->has_caps) {
		struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct data[2];
		for (int i = 0; i < 2; i++) {
			data[i].effective = (uint32_t)(p->caps[1] >> (32 * i));
			data[i].permitted = (uint32_t)(p->caps[2] >> (32 * i));
			data[i].inheritable = (uint32_t)(p->caps[3] >> (32 * i));
		}
		if (syscall(SYS_capset, &hdr, data) < 0)
			tupper_report("process.capabilities: capset: %s", strerr(errno));
		// EINVAL: a kernel without ambient capabilities.
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
			tupper_report("process.capabilities.ambient: %s", strerr(errno));
		uint64_t amb = p->caps[4] & p->caps[2] & p->caps[3];
		for (int c = 0; c < 64; c++) {
			if (!(amb & (1ULL << c)) || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) == 0)
				continue;
			if (c < p->ncap_names)
				tupper_report("process.capabilities.ambient %s: %s", p->cap_names[c], strerr(errno));
			tupper_report("process.capabilities.ambient %d: %s", c, strerr(errno));
		}
	}
	if (p->nnp) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			tupper_report("process.noNewPrivileges: %s", strerr(errno));
		load_seccomp(p);
	}
}

// tupper_fast_exec is `tupper exec`'s process, set up and executed.
void tupper_fast_exec(int sync_fd)
{
	struct proc p;
	tupper_fx_parse(sync_fd, &p);
	tupper_fx_prepare(&p);
	const char *path = tupper_fx_look_path(&p);
	tupper_fx_finish(&p);
	static const char ready[] = "{\"type\":\"ready\"}\n";
	if (write(sync_fd, ready, sizeof(ready) - 1) < 0)
		_exit(1);
	execve(path, p.argv, p.envp);
	tupper_report("exec: \"%s\": %s", p.argv[0], strerr(errno));
}
