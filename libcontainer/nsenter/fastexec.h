// What nsenter.c, fastexec.c and fastinit.c share: the error report, and
// the process set-up both C paths end with (a `tupper exec` process, and
// the container's own process after the C init has set the container up).
#ifndef TUPPER_FASTEXEC_H
#define TUPPER_FASTEXEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

// tupper_report writes an error line the runtime reads (see nsenter.c)
// and exits.
void tupper_report(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
// tupper_report_plain sends later reports to fd as plain text instead of
// JSON lines on the sync socket: the exec FIFO, once start has released
// the init, where start reads the reason the process could not run.
void tupper_report_plain(int fd);
// When the constructor started, for the steps --debug shows.
extern struct timespec tupper_began;
// tupper_join_cgroups_late receives the v1 tasks files (and a network
// namespace) the runtime sends while the init starts, and joins them.
void tupper_join_cgroups_late(void);
// errno's text lowercased, as Go prints it.
const char *tupper_strerr(int e);

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

// tupper_read_full reads exactly n bytes: 0, or -1 at an error (errno) or
// an early end (errno 0).
int tupper_read_full(int fd, void *buf, size_t n);

// tupper_read_blob reads a u32 length, then that many bytes (at most 64
// MiB), NUL-terminated; a failure is reported as "read WHAT: ...".
unsigned char *tupper_read_blob(int fd, const char *what, uint32_t *len);

// tupper_join_keyring joins the session keyring name (joinSessionKeyring
// in container/init_linux.go): 0, or -1 with errno; kernels without
// keyrings, or that forbid it, count as success.
int tupper_join_keyring(const char *name);

#define MAX_RLIMITS 32

struct proc {
	char **argv, **envp;
	int argc, envc;
	const char *cwd;
	int make_cwd; // create a missing cwd, as create does and exec does not
	const char *keyring; // a session keyring to join, or NULL
	uint32_t uid, gid;
	gid_t groups[64];
	int ngroups;
	int has_caps;
	uint64_t caps[5]; // bounding, effective, permitted, inheritable, ambient
	const char *cap_names[64]; // by number, for errors
	int ncap_names;
	int nnp;
	int has_umask;
	uint32_t umask;
	const char *oom;
	const unsigned char *filter;
	uint32_t filter_len, filter_flags;
	uint32_t preserve;
	int root_fd; // a root to chroot into, or -1
	struct {
		int resource;
		struct rlimit lim;
		const char *name;
	} rlimits[MAX_RLIMITS];
	int nrlimits;
};

// The steps of a process's set-up, in this order: read it from the sync
// socket; apply what create reports (rlimits, oom score, umask, cwd); find
// the executable; then close fds, load seccomp and take the identity and
// capabilities, after which only execve is left.
void tupper_fx_parse(int fd, struct proc *p);
void tupper_fx_prepare(struct proc *p);
const char *tupper_fx_look_path(struct proc *p);
void tupper_fx_finish(struct proc *p);

// tupper_proc_write writes value to /proc/rel with the Go init's checks
// (openProcAt in container/procfs_linux.go). On failure it returns -1 with
// the reason in why, worded as the Go init words it.
int tupper_proc_write(const char *rel, const char *value, char *why, size_t n);

#endif
