// The C half of package nsenter; see nsenter.go for why it exists.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <unistd.h>

#include "fastexec.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define ENV_NAME "_TUPPER_NSENTER"
#define MAX_JOINS 8

static int sync_fd = -1, plain_fd = -1;
struct timespec tupper_began;

#define report tupper_report

void tupper_fast_exec(int sync_fd) __attribute__((noreturn));
void tupper_fast_init(int sync_fd, int join_late) __attribute__((noreturn));

void tupper_report_plain(int fd) { plain_fd = fd; }

// tupper_report writes one JSON line to the sync socket and exits. The
// message is a plain error string; quotes and backslashes are replaced so
// the line stays valid JSON without an encoder. After tupper_report_plain
// the text goes as it is to that fd.
void tupper_report(const char *fmt, ...)
{
	// Room for two paths and the words around them.
	char msg[3 * PATH_MAX], line[6 * PATH_MAX + 64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (plain_fd >= 0) {
		(void)!write(plain_fd, msg, strlen(msg));
		_exit(1);
	}
	// A JSON string: quotes and backslashes escaped, control characters
	// blanked.
	size_t n = (size_t)snprintf(line, sizeof(line), "{\"type\":\"error\",\"error\":\"");
	for (const char *p = msg; *p && n < sizeof(line) - 8; p++) {
		if (*p == '"' || *p == '\\')
			line[n++] = '\\';
		line[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
	if (sync_fd >= 0)
		(void)!write(sync_fd, line, n);
	_exit(1);
}

static int ns_flag(const char *kind)
{
	static const struct { const char *name; int flag; } kinds[] = {
		{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"net", CLONE_NEWNET},
		{"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"pid", CLONE_NEWPID},
		{"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].name) == 0)
			return kinds[i].flag;
	return 0;
}

// tupper_strerr is errno's text lowercased, as Go prints it ("permission
// denied"); fastexec.c uses it too.
#define strerr tupper_strerr
const char *tupper_strerr(int e)
{
	static char buf[128];
	snprintf(buf, sizeof(buf), "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z')
		buf[0] += 'a' - 'A';
	return buf;
}

// check_proc_self refuses to start the Go runtime in a joined mount
// namespace whose /proc/self is not procfs's own link: a Go program reads
// /proc/self at start (maps, where glibc finds the main thread's stack for
// the cgo runtime; cgroup and mountinfo), and a container with CAP_SYS_ADMIN
// can mount a symlink to 1 over it. The Go init then read its container's
// init's memory map and died of SIGSEGV before it could say why. "self" is
// resolved beneath /proc without crossing a mount or following a magic
// link, as openProc does; no /proc, or no "self" (this process is outside
// the pid namespace of that procfs until it forks), is nothing to misread.
// Nothing stops a mount made after this check: the init then dies, and
// `tupper exec` reports the signal.
static void check_proc_self(void)
{
	int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return;
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS,
	};
	int self = (int)syscall(SYS_openat2, proc, "self", &how, sizeof(how));
	int err = errno;
	struct statfs sfs;
	if (self >= 0) {
		close(self);
		if (fstatfs(proc, &sfs) == 0 && sfs.f_type != PROC_SUPER_MAGIC)
			report("open /proc/self: /proc is not procfs, and the Go runtime reads its memory map in /proc/self");
	} else if (err != ENOENT && err != ENOSYS) {
		report("open /proc/self: self: %s: the container's /proc/self is not procfs's own link, and the Go runtime reads its memory map there", strerr(err));
	}
	close(proc);
}

// join_tasks writes "0" to the v1 tasks file open at fd, moving this
// process (single-threaded still) into that cgroup, and closes fd. A
// refusal names the file, found through the fd's link.
static void join_tasks(int fd)
{
	if (write(fd, "0", 1) != 1) {
		int err = errno;
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, path, sizeof(path) - 1);
		if (n <= 0)
			report("join cgroup: write tasks: %s", strerr(err));
		path[n] = '\0';
		report("join cgroup: write %s: %s", path, strerr(err));
	}
	close(fd);
}

// tupper_join_cgroups_late receives the v1 "tasks" files the runtime opened while
// this process started (one byte carrying them as SCM_RIGHTS on the sync
// socket) and writes "0" to each, moving this still single-threaded
// process whole, as the cgroup= fields do. A network namespace the
// runtime made meanwhile may come with them (an nsfs file): it is joined.
void tupper_join_cgroups_late(void)
{
	char byte;
	int fds[64];
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	do
		n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		_exit(1); // the runtime gave up on us; it reports why
	if (n < 0)
		report("join cgroup: receive tasks files: %s", strerr(errno));
	if (msg.msg_flags & MSG_CTRUNC)
		report("join cgroup: too many tasks files");
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(c), count * sizeof(int));
		for (size_t i = 0; i < count; i++) {
			struct statfs sfs;
			if (fstatfs(fds[i], &sfs) == 0 && sfs.f_type == NSFS_MAGIC) {
				if (setns(fds[i], CLONE_NEWNET) < 0)
					report("join network namespace: %s", strerr(errno));
				close(fds[i]);
			} else {
				join_tasks(fds[i]);
			}
		}
	}
}

// The variable holds fields separated by '\n':
//   fd=N           the sync socket
//   join=KIND:PATH a namespace to join, in the order given (the caller
//                  orders them: user last, or first for a rootless exec)
//   netfd=FD       a new network namespace the runtime made meanwhile: join it
//   unshare=FLAGS  namespaces to create before forking (decimal clone flags)
//   offset=CLOCK SEC NSEC  a time namespace offset (monotonic or boottime)
//   cgroup=FD      a v1 "tasks" file: write "0" to move this (still only)
//                  thread into the cgroup without the kernel's global lock
//   cgrouplate     after unsharing, receive v1 tasks files (and maybe a
//                  network namespace) on the sync socket and join them
//                  (tupper_join_cgroups_late); with fastinit, where the
//                  plan says (OP_JOIN)
//   usermaps       unshare the user namespace first and ask for its maps
//   fork           fork once after the joins, so pid/time namespaces apply
//   fastexec       after the fork, set up and execute the process in C
//                  (fastexec.c) instead of starting the Go runtime
//   fastinit       at the end (after the fork, if any), set the container
//                  up and execute its process in C (fastinit.c): the init
//                  never starts the Go runtime
void tupper_nsenter(void)
{
	const char *env = getenv(ENV_NAME);
	if (env == NULL || *env == '\0')
		return;
	clock_gettime(CLOCK_REALTIME, &tupper_began);
	char *spec = strdup(env);
	unsetenv(ENV_NAME);
	if (spec == NULL)
		_exit(1);

	int do_fork = 0, unshare_flags = 0, fast_exec = 0, fast_init = 0, user_maps = 0, cgroup_late = 0, net_fd = -1;
	struct { int fd; const char *kind, *path; } joins[MAX_JOINS];
	int njoins = 0;
	char offsets[256] = "";
	size_t off_len = 0;

	// First pass: the sync fd, so every later error can be reported.
	for (char *line = spec; line && *line;) {
		char *next = strchr(line, '\n');
		if (strncmp(line, "fd=", 3) == 0)
			sync_fd = atoi(line + 3);
		line = next ? next + 1 : NULL;
	}

	for (char *line = spec, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "cgroup=", 7) == 0) {
			// Before any join: the cgroup files are reachable by fd from
			// any namespace, and the process must be in its cgroup before
			// it forks.
			join_tasks(atoi(line + 7));
		} else if (strncmp(line, "join=", 5) == 0) {
			// Every path is opened before any is joined: once in the
			// container's mount namespace, /proc is the container's.
			char *kind = line + 5, *path = strchr(kind, ':');
			if (path == NULL || njoins == MAX_JOINS)
				report("nsenter: malformed join %s", kind);
			*path++ = '\0';
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				report("join %s namespace %s: open: %s", kind, path, strerr(errno));
			joins[njoins].fd = fd;
			joins[njoins].kind = kind;
			joins[njoins].path = path;
			njoins++;
		} else if (strncmp(line, "netfd=", 6) == 0) {
			net_fd = atoi(line + 6);
		} else if (strncmp(line, "unshare=", 8) == 0) {
			unshare_flags = atoi(line + 8);
		} else if (strncmp(line, "offset=", 7) == 0) {
			int n = snprintf(offsets + off_len, sizeof(offsets) - off_len, "%s\n", line + 7);
			if (n > 0 && (size_t)n < sizeof(offsets) - off_len)
				off_len += (size_t)n;
		} else if (strcmp(line, "fork") == 0) {
			do_fork = 1;
		} else if (strcmp(line, "cgrouplate") == 0) {
			cgroup_late = 1;
		} else if (strcmp(line, "usermaps") == 0) {
			user_maps = 1;
		} else if (strcmp(line, "fastexec") == 0) {
			fast_exec = 1;
		} else if (strcmp(line, "fastinit") == 0) {
			fast_init = 1;
		}
	}
	int joined_user = 0, joined_mnt = 0;
	for (int i = 0; i < njoins; i++) {
		if (setns(joins[i].fd, ns_flag(joins[i].kind)) < 0)
			report("join %s namespace %s: %s", joins[i].kind, joins[i].path, strerr(errno));
		close(joins[i].fd);
		joined_user |= ns_flag(joins[i].kind) == CLONE_NEWUSER;
		joined_mnt |= ns_flag(joins[i].kind) == CLONE_NEWNS;
	}
	// Our uid is the runtime's, likely unmapped in the joined user
	// namespace; files would be created as nobody, or not at all.
	if (joined_user && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		report("become root in the joined user namespace: %s", strerr(errno));
	free(spec);

	if (user_maps && (unshare_flags & CLONE_NEWUSER)) {
		// The namespaces created next must belong to the new user
		// namespace, and its maps can only be written from outside.
		if (unshare(CLONE_NEWUSER) < 0)
			report("unshare user namespace: %s", strerr(errno));
		char req[64], ok = 0;
		int n = snprintf(req, sizeof(req), "{\"type\":\"usermap\",\"pid\":%d}\n", (int)getpid());
		if (write(sync_fd, req, (size_t)n) != n || read(sync_fd, &ok, 1) != 1)
			report("user namespace maps: %s", strerr(errno));
		if (ok == '1' && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
			report("become root in the user namespace: %s", strerr(errno));
		unshare_flags &= ~CLONE_NEWUSER;
	}
	if (net_fd >= 0) {
		if (setns(net_fd, CLONE_NEWNET) < 0)
			report("join network namespace: %s", strerr(errno));
		close(net_fd);
	}
	if (unshare_flags && unshare(unshare_flags) < 0)
		report("unshare namespaces %#x: %s", unshare_flags, strerr(errno));
	// The namespaces are made (the costly part of a start) while the
	// runtime creates the cgroup; then this process joins it before it
	// forks or the Go runtime starts a thread.
	// The C init joins when its plan says (OP_JOIN): it mounts what does
	// not depend on the cgroup or the network namespace meanwhile.
	if (cgroup_late && !fast_init)
		tupper_join_cgroups_late();
	if (off_len > 0) {
		// "The offsets can be set only before any process has entered the
		// namespace" - time_namespaces(7); nobody has yet.
		int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			report("open /proc/self/timens_offsets: %s", strerr(errno));
		if (write(fd, offsets, off_len) != (ssize_t)off_len)
			report("write /proc/self/timens_offsets: %s", strerr(errno));
		close(fd);
	}
	// Before the fork, so that a refusal leaves no process behind. The
	// fast path starts no Go runtime and resolves /proc itself.
	if (joined_mnt && !fast_exec && !fast_init)
		check_proc_self();
	if (!do_fork) {
		if (fast_init)
			tupper_fast_init(sync_fd, cgroup_late);
		return;
	}

	pid_t pid = fork();
	if (pid < 0)
		report("fork into joined namespaces: %s", strerr(errno));
	if (pid == 0 && fast_exec)
		tupper_fast_exec(sync_fd);
	if (pid == 0 && fast_init)
		tupper_fast_init(sync_fd, cgroup_late);
	if (pid == 0)
		return; // the init: Go starts here, inside every namespace
	char line[64];
	int n = snprintf(line, sizeof(line), "{\"type\":\"pid\",\"pid\":%d}\n", (int)pid);
	if (write(sync_fd, line, (size_t)n) != n)
		report("report init pid: %s", strerr(errno));
	_exit(0);
}
