/*
 * rootstrap-helper: run a command inside a bootstrapped root file system,
 * in fresh mount/pid/uts/ipc(/net) namespaces, with a minimal /dev, /proc
 * and /sys, a reduced capability bounding set and a clean environment.
 * Also creates the static /dev nodes of a new root (mode "mkdev").
 *
 * The full contract (arguments, exit codes, status-fd lines, mount layout,
 * threat model) is in PROTOCOL.md next to this file; keep both in sync.
 *
 * Structure: parse ALL arguments into `struct opts` (nothing is touched
 * before the command line is known to be valid), then run a fixed list of
 * setup steps, each of which either succeeds or calls die(), then exec.
 *
 * Only libc and the Linux UAPI headers are used: capabilities are handled
 * with the raw capget(2)/capset(2) syscalls and prctl(2), not libcap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/capability.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#endif
#ifndef PR_CAP_AMBIENT_CLEAR_ALL
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#define EXIT_HELPER 125   /* the helper itself failed (like env(1), timeout(1)) */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

#define DEFAULT_HOSTNAME "rootstrap"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

struct bind {
	const char *src;   /* host path (trusted: chosen by the caller) */
	const char *dst;   /* path inside ROOT (untrusted tree: resolved safely) */
	int ro;
};

struct opts {
	int mkdev;              /* "mkdev ROOT" mode */
	const char *root;
	const char *hostname;
	int net_host;           /* --network host */
	struct bind *binds;
	size_t nbinds;
	const char *workdir;
	char **envp;            /* NULL-terminated, PATH guaranteed */
	size_t nenv;
	int tty;
	int status_fd;          /* -1 if none */
	uint64_t drop_caps;     /* bit n set: capability n is removed */
	char **argv;            /* COMMAND [ARG...], NULL-terminated */
};

/* ------------------------------------------------------------------------ */
/* Error reporting                                                          */
/* ------------------------------------------------------------------------ */

/* Global because die() may be called from any step, in any of the three
 * processes (outer helper, namespace init, command child). */
static int status_fd = -1;

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

struct buf {
	char data[4096];   /* == PIPE_BUF: one write(2) of it to a pipe is atomic */
	size_t len;
};

static void buf_add(struct buf *b, const char *s)
{
	while (*s && b->len < sizeof(b->data) - 1)
		b->data[b->len++] = *s++;
}

/* Status fields are tab separated, so escape \, TAB and LF (and CR). */
static void buf_add_escaped(struct buf *b, const char *s)
{
	for (; s && *s && b->len < sizeof(b->data) - 3; s++) {
		const char *e = NULL;
		switch (*s) {
		case '\\': e = "\\\\"; break;
		case '\t': e = "\\t"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		}
		if (e) {
			buf_add(b, e);
		} else {
			b->data[b->len++] = *s;
		}
	}
}

static void buf_add_int(struct buf *b, long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%ld", v);
	buf_add(b, tmp);
}

/* One line, one write(2): the reader never sees a torn line. */
static void buf_finish_line(struct buf *b, int fd)
{
	if (b->len >= sizeof(b->data) - 1)
		b->len = sizeof(b->data) - 2;
	b->data[b->len++] = '\n';
	write_all(fd, b->data, b->len);
}

static void report(const char *step, const char *path, int err, const char *msg)
{
	struct buf b = { .len = 0 };
	buf_add(&b, "rootstrap-helper: ");
	buf_add(&b, step);
	buf_add(&b, ": ");
	if (path && *path) {
		buf_add(&b, path);
		buf_add(&b, ": ");
	}
	buf_add(&b, msg);
	buf_finish_line(&b, STDERR_FILENO);

	if (status_fd >= 0) {
		b.len = 0;
		buf_add(&b, "error\t");
		buf_add_escaped(&b, step);
		buf_add(&b, "\t");
		buf_add_int(&b, err);
		buf_add(&b, "\t");
		buf_add_escaped(&b, path ? path : "");
		buf_add(&b, "\t");
		buf_add_escaped(&b, msg);
		buf_finish_line(&b, status_fd);
	}
}

/* _exit, not exit: die() runs in forked children too and must not run
 * atexit handlers or flush stdio buffers inherited from the parent. */
__attribute__((noreturn)) static void die_msg(const char *step, const char *path, int err, const char *msg)
{
	report(step, path, err, msg);
	_exit(EXIT_HELPER);
}

__attribute__((noreturn)) static void die(const char *step, const char *path)
{
	int err = errno;
	die_msg(step, path, err, strerror(err));
}

/* ------------------------------------------------------------------------ */
/* Argument parsing                                                         */
/* ------------------------------------------------------------------------ */

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
	"SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
	"NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
	"SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL",
	"SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM",
	"BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};
#define NCAP_NAMES ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* Removed from the command by default: each of these lets uid 0 act on the
 * host outside the namespaces (mount/unshare/setns, module loading, raw
 * I/O, reboot, clock, ptrace of other processes, creating device nodes
 * for host disks, network config, process accounting, LSM policy, audit
 * config, the kernel log, wake alarms, eBPF, perf, checkpoint/restore). */
static const char *const default_drop[] = {
	"SYS_ADMIN", "SYS_MODULE", "SYS_RAWIO", "SYS_BOOT", "SYS_TIME",
	"SYS_PTRACE", "MKNOD", "NET_ADMIN", "SYS_PACCT", "MAC_ADMIN",
	"MAC_OVERRIDE", "AUDIT_CONTROL", "SYSLOG", "WAKE_ALARM", "BPF",
	"PERFMON", "CHECKPOINT_RESTORE",
};

static int cap_from_name(const char *name)
{
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < NCAP_NAMES; i++)
		if (strcasecmp(name, cap_names[i]) == 0)
			return i;
	return -1;
}

static const char usage_text[] =
	"usage: rootstrap-helper [OPTIONS] ROOT [--] COMMAND [ARG...]\n"
	"       rootstrap-helper mkdev [--status-fd N] ROOT\n"
	"options: --hostname NAME, --network none|host, --bind SRC:DST,\n"
	"         --ro-bind SRC:DST, --workdir DIR, --env KEY=VALUE,\n"
	"         --keep-cap NAME, --all-caps, --tty, --status-fd N\n";

/* The first argument error is remembered and reported only once the whole
 * option list was scanned, so that a --status-fd given anywhere among the
 * options still receives the "args" status line. */
static char arg_error[512];
static const char *arg_error_path;

__attribute__((format(printf, 2, 3)))
static void arg_fail(const char *path, const char *fmt, ...)
{
	va_list ap;
	if (arg_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(arg_error, sizeof(arg_error), fmt, ap);
	va_end(ap);
	arg_error_path = path;
}

static int parse_fd(const char *s)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static void set_status_fd(const char *val)
{
	int fd = parse_fd(val);
	if (fd < 3) {
		arg_fail(val, "--status-fd needs a file descriptor number >= 3");
		return;
	}
	/* Close-on-exec: the command must never inherit (and write into) the
	 * channel the caller uses to tell helper failures from command output. */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		arg_fail(val, "--status-fd: %s", strerror(errno));
		return;
	}
	status_fd = fd;
}

static void add_env(struct opts *o, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv) {
		arg_fail(kv, "--env needs KEY=VALUE");
		return;
	}
	size_t klen = (size_t)(eq - kv) + 1;   /* including '=' */
	/* Last definition of a KEY wins, like env(1) and shells. */
	for (size_t i = 0; i < o->nenv; i++) {
		if (strncmp(o->envp[i], kv, klen) == 0) {
			o->envp[i] = (char *)kv;
			return;
		}
	}
	o->envp[o->nenv++] = (char *)kv;
}

static void add_bind(struct opts *o, const char *spec, int ro)
{
	/* Split at the FIRST colon: SRC may not contain ':', DST may. */
	const char *colon = strchr(spec, ':');
	if (!colon || colon == spec || colon[1] == '\0') {
		arg_fail(spec, "%s needs SRC:DST", ro ? "--ro-bind" : "--bind");
		return;
	}
	char *src = strndup(spec, (size_t)(colon - spec));
	if (!src)
		die("args", NULL);
	o->binds[o->nbinds].src = src;
	o->binds[o->nbinds].dst = colon + 1;
	o->binds[o->nbinds].ro = ro;
	o->nbinds++;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	uint64_t keep = 0;
	int all_caps = 0;
	int i = 1;

	memset(o, 0, sizeof(*o));
	o->hostname = DEFAULT_HOSTNAME;
	o->workdir = "/";
	o->status_fd = -1;
	/* Worst-case sizes: every argument is a --bind / --env. */
	o->binds = calloc((size_t)argc, sizeof(*o->binds));
	o->envp = calloc((size_t)argc + 2, sizeof(*o->envp));
	if (!o->binds || !o->envp)
		die("args", NULL);

	if (argc >= 2 && strcmp(argv[1], "mkdev") == 0) {
		o->mkdev = 1;
		i = 2;
	}

	for (; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
			break;
		/* Options taking a value: "--opt VALUE" or "--opt=VALUE". */
		static const char *const with_value[] = {
			"--hostname", "--network", "--bind", "--ro-bind", "--workdir",
			"--env", "--keep-cap", "--status-fd",
		};
		char name[32];
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name)) {
			arg_fail(a, "unknown option");
			continue;
		}
		memcpy(name, a, nlen);
		name[nlen] = '\0';
		int takes = 0;
		for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			if (strcmp(name, with_value[k]) == 0)
				takes = 1;
		if (takes) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				arg_fail(a, "option needs a value");
				continue;
			}
		} else if (eq) {
			arg_fail(a, "option takes no value");
			continue;
		}

		if (strcmp(name, "--status-fd") == 0) {
			set_status_fd(val);
		} else if (o->mkdev) {
			arg_fail(a, "mkdev accepts only --status-fd");
		} else if (strcmp(name, "--hostname") == 0) {
			size_t l = strlen(val);
			if (l == 0 || l > 64)   /* HOST_NAME_MAX, see sethostname(2) */
				arg_fail(val, "--hostname must be 1 to 64 bytes");
			o->hostname = val;
		} else if (strcmp(name, "--network") == 0) {
			if (strcmp(val, "none") == 0)
				o->net_host = 0;
			else if (strcmp(val, "host") == 0)
				o->net_host = 1;
			else
				arg_fail(val, "--network must be none or host");
		} else if (strcmp(name, "--bind") == 0) {
			add_bind(o, val, 0);
		} else if (strcmp(name, "--ro-bind") == 0) {
			add_bind(o, val, 1);
		} else if (strcmp(name, "--workdir") == 0) {
			if (val[0] != '/')
				arg_fail(val, "--workdir must be an absolute path");
			o->workdir = val;
		} else if (strcmp(name, "--env") == 0) {
			add_env(o, val);
		} else if (strcmp(name, "--keep-cap") == 0) {
			int c = cap_from_name(val);
			if (c < 0)
				arg_fail(val, "unknown capability name");
			else
				keep |= UINT64_C(1) << c;
		} else if (strcmp(name, "--all-caps") == 0) {
			all_caps = 1;
		} else if (strcmp(name, "--tty") == 0) {
			o->tty = 1;
		} else {
			arg_fail(a, "unknown option");
		}
	}

	/* A lone "--" ends the options, so that ROOT may start with "--". */
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		arg_fail(NULL, "missing ROOT");
	} else {
		o->root = argv[i++];
		if (o->root[0] == '\0')
			arg_fail(NULL, "ROOT is empty");
	}

	if (o->mkdev) {
		if (i < argc)
			arg_fail(argv[i], "mkdev takes exactly one ROOT argument");
	} else {
		if (i < argc && strcmp(argv[i], "--") == 0)
			i++;
		if (i >= argc)
			arg_fail(NULL, "missing COMMAND");
		else if (argv[i][0] == '\0')
			arg_fail(NULL, "COMMAND is empty");
		o->argv = argv + i;
	}

	if (arg_error[0]) {
		report("args", arg_error_path, 0, arg_error);
		write_all(STDERR_FILENO, usage_text, sizeof(usage_text) - 1);
		_exit(EXIT_HELPER);
	}

	int has_path = 0;
	for (size_t k = 0; k < o->nenv; k++)
		if (strncmp(o->envp[k], "PATH=", 5) == 0)
			has_path = 1;
	if (!has_path)
		o->envp[o->nenv++] = (char *)DEFAULT_PATH;
	o->envp[o->nenv] = NULL;

	if (!all_caps)
		for (size_t k = 0; k < sizeof(default_drop) / sizeof(default_drop[0]); k++)
			o->drop_caps |= UINT64_C(1) << cap_from_name(default_drop[k]);
	o->drop_caps &= ~keep;
	o->status_fd = status_fd;
}

/* ------------------------------------------------------------------------ */
/* Safe path resolution inside ROOT                                         */
/* ------------------------------------------------------------------------ */

/* "/proc/self/fd/N": mount(2) has no *at() variant (before the new mount
 * API), so we mount onto the magic link of an O_PATH fd.  The kernel then
 * uses the very dentry we opened and checked, not a path that could be
 * re-resolved through a symlink swapped in meanwhile (the runc approach,
 * cf. CVE-2021-30465). */
static const char *fdpath(int fd, char buf[static 32])
{
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
	return buf;
}

enum kind { KIND_DIR, KIND_FILE };

/* What a resolution produced: the parent directory, the last component and
 * the entry itself (all O_PATH).  parent+name are kept so that, after
 * something was mounted on the entry, the mount's root can be reached: an
 * fd opened before the mount still points at the covered dentry, while a
 * fresh lookup of the name crosses into the mount (path_resolution(7)). */
struct entry {
	int parent;
	int fd;
	char name[NAME_MAX + 1];
};

static void close_entry(struct entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	if (e->parent >= 0)
		close(e->parent);
	e->fd = e->parent = -1;
}

__attribute__((noreturn))
static void die_symlink(const char *step, const char *path, const char *comp)
{
	char msg[NAME_MAX + 128];
	snprintf(msg, sizeof(msg), "refusing to follow symlink at component '%s' (it could lead outside ROOT)", comp);
	die_msg(step, path, ELOOP, msg);
}

/* Open directory NAME under DIRFD without following a symlink; create it
 * (0755) if missing and `create`. */
static int open_dir_nofollow(int dirfd, const char *name, int create, const char *step, const char *path)
{
	for (int attempt = 0; ; attempt++) {
		int fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno == ENOENT && create && attempt == 0) {
			if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
				die(step, path);
			continue;
		}
		if (errno == ENOTDIR) {
			/* O_PATH|O_NOFOLLOW|O_DIRECTORY on a symlink fails with
			 * ENOTDIR: tell the caller clearly that it was a symlink. */
			struct stat st;
			if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				die_symlink(step, path, name);
			errno = ENOTDIR;
		}
		die(step, path);
	}
}

/*
 * Resolve PATH (absolute or relative; always taken relative to ROOTFD)
 * component by component with openat(O_PATH|O_NOFOLLOW), refusing symlinks
 * and "..", creating missing directories, and creating the last component
 * as a directory or an empty file (per KIND) if missing.  This is what
 * keeps a hostile or merely odd tree (e.g. ROOT/run -> /run written by a
 * package) from redirecting a mount onto the host.  Same idea as
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), which needs Linux >= 5.6.
 */
static void resolve_in_root(int rootfd, const char *path, enum kind kind, const char *step, struct entry *out)
{
	char buf[PATH_MAX];
	char *comps[PATH_MAX / 2];
	int n = 0;

	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		die(step, path);
	}
	strcpy(buf, path);
	for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0)
			die_msg(step, path, EINVAL, "'..' is not allowed in a path inside ROOT");
		if (strlen(c) > NAME_MAX) {
			errno = ENAMETOOLONG;
			die(step, path);
		}
		comps[n++] = c;
	}
	if (n == 0)
		die_msg(step, path, EINVAL, "refusing to mount over ROOT itself");

	int cur = dup(rootfd);
	if (cur < 0)
		die(step, path);
	for (int k = 0; k < n - 1; k++) {
		int next = open_dir_nofollow(cur, comps[k], 1, step, path);
		close(cur);
		cur = next;
	}

	const char *last = comps[n - 1];
	if (kind == KIND_DIR) {
		if (mkdirat(cur, last, 0755) < 0 && errno != EEXIST)
			die(step, path);
	} else {
		/* O_EXCL|O_NOFOLLOW: never write through an existing entry. */
		int f = openat(cur, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (f >= 0)
			close(f);
		else if (errno != EEXIST)
			die(step, path);
	}
	int fd = openat(cur, last, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		die(step, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die(step, path);
	if (S_ISLNK(st.st_mode))
		die_symlink(step, path, last);
	if (kind == KIND_DIR && !S_ISDIR(st.st_mode))
		die_msg(step, path, ENOTDIR, "exists and is not a directory (SRC is a directory)");
	if (kind == KIND_FILE && S_ISDIR(st.st_mode))
		die_msg(step, path, EISDIR, "exists and is a directory (SRC is not a directory)");

	out->parent = cur;
	out->fd = fd;
	strcpy(out->name, last);
}

/* Open the root of whatever is now mounted on ENTRY (see struct entry) and
 * check that it is the object we expect, in case the name was swapped. */
static int open_mounted(const struct entry *e, const struct stat *expect, const char *step, const char *path)
{
	int fd = openat(e->parent, e->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(step, path);
	if (expect && (st.st_dev != expect->st_dev || st.st_ino != expect->st_ino))
		die_msg(step, path, EXDEV, "mount point changed while mounting");
	return fd;
}

/* Bind mount SRCFD onto E; if RO, remount that new mount read-only.  The
 * remount keeps nosuid/nodev/noexec/atime flags of the source: MS_REMOUNT
 * replaces all per-mount flags (mount(2)). */
static void bind_entry(int srcfd, const struct entry *e, int ro, int recursive, const char *step, const char *path)
{
	char sb[32], tb[32];
	struct stat src_st;

	if (fstat(srcfd, &src_st) < 0)
		die(step, path);
	if (mount(fdpath(srcfd, sb), fdpath(e->fd, tb), NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
		die(step, path);
	if (!ro)
		return;

	int top = open_mounted(e, &src_st, step, path);
	struct statvfs sv;
	if (fstatvfs(top, &sv) < 0)
		die(step, path);
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
	if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
	if (mount(NULL, fdpath(top, tb), NULL, flags, NULL) < 0)
		die(step, path);
	close(top);
}

/* ------------------------------------------------------------------------ */
/* Run mode: setup steps                                                    */
/* ------------------------------------------------------------------------ */

static void mount_fs(int rootfd, const char *path, const char *fstype, unsigned long flags, const char *data, const char *step)
{
	struct entry e;
	char tb[32];
	resolve_in_root(rootfd, path, KIND_DIR, step, &e);
	if (mount(fstype, fdpath(e.fd, tb), fstype, flags, data) < 0)
		die(step, path);
	close_entry(&e);
}

/* Writable /proc/sys, /proc/sysrq-trigger, ... are global host controls
 * (e.g. kernel.core_pattern or kernel.modprobe name a program the HOST
 * kernel runs as root; sysrq-trigger reboots the host) that uid 0 may write
 * without any capability.  Make them read-only like Docker does. */
static void protect_proc(int rootfd)
{
	static const char *const ro_paths[] = {
		"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus",
	};
	for (size_t k = 0; k < sizeof(ro_paths) / sizeof(ro_paths[0]); k++) {
		const char *p = ro_paths[k];
		int procfd = openat(rootfd, "proc", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (procfd < 0)
			die("mount-proc", "/proc");
		struct entry e = { .parent = procfd, .fd = -1 };
		strcpy(e.name, p + strlen("/proc/"));
		e.fd = openat(procfd, e.name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (e.fd < 0) {
			if (errno != ENOENT)
				die("proc-readonly", p);
			close_entry(&e);
			continue;
		}
		bind_entry(e.fd, &e, 1, 0, "proc-readonly", p);
		close_entry(&e);
	}
}

static void setup_dev(int rootfd)
{
	static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = {
		{ "ptmx", "pts/ptmx" },
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	char tb[32], path[64];

	/* A tmpfs, not ROOT/dev itself: device nodes left in ROOT/dev by the
	 * bootstrap are never used, and nothing written to /dev persists. */
	mount_fs(rootfd, "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=1m", "mount-dev");
	int devfd = open_dir_nofollow(rootfd, "dev", 0, "mount-dev", "/dev");

	/* Bind the host's nodes onto empty files instead of mknod(2): works
	 * without CAP_MKNOD (e.g. in a container) and inside nodev mounts. */
	for (size_t k = 0; k < sizeof(devices) / sizeof(devices[0]); k++) {
		snprintf(path, sizeof(path), "/dev/%s", devices[k]);
		int f = openat(devfd, devices[k], O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (f < 0)
			die("dev-node", path);
		if (mount(path, fdpath(f, tb), NULL, MS_BIND, NULL) < 0)
			die("dev-node", path);
		close(f);
	}

	/* A private devpts instance (newinstance): ptys of the host are not
	 * visible; ptmxmode=0666 because /dev/ptmx is a symlink to it. */
	if (mkdirat(devfd, "pts", 0755) < 0)
		die("mount-devpts", "/dev/pts");
	int f = openat(devfd, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0 || mount("devpts", fdpath(f, tb), "devpts", MS_NOSUID | MS_NOEXEC,
			   "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
		die("mount-devpts", "/dev/pts");
	close(f);

	if (mkdirat(devfd, "shm", 0755) < 0)
		die("mount-shm", "/dev/shm");
	f = openat(devfd, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0 || mount("tmpfs", fdpath(f, tb), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		die("mount-shm", "/dev/shm");
	close(f);

	for (size_t k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
		snprintf(path, sizeof(path), "/dev/%s", links[k][0]);
		if (symlinkat(links[k][1], devfd, links[k][0]) < 0)
			die("dev-symlink", path);
	}
	close(devfd);
}

static void setup_binds(int rootfd, const struct opts *o)
{
	for (size_t k = 0; k < o->nbinds; k++) {
		const struct bind *b = &o->binds[k];
		const char *step = b->ro ? "ro-bind" : "bind";
		struct stat st;
		struct entry e;

		/* SRC is a host path chosen by the caller: symlinks are followed. */
		int srcfd = open(b->src, O_PATH | O_CLOEXEC);
		if (srcfd < 0 || fstat(srcfd, &st) < 0)
			die(step, b->src);
		resolve_in_root(rootfd, b->dst, S_ISDIR(st.st_mode) ? KIND_DIR : KIND_FILE, step, &e);
		/* Read-write binds are recursive (sub-mounts of SRC come along);
		 * read-only ones are not, since MS_REMOUNT|MS_RDONLY only affects
		 * the top mount and would leave writable sub-mounts behind. */
		bind_entry(srcfd, &e, b->ro, !b->ro, step, b->dst);
		close_entry(&e);
		close(srcfd);
	}
}

static void bring_up_lo(void)
{
	/* A new network namespace has only "lo", and it is down. */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	if (s < 0)
		die("network", "lo");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("network", "lo");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("network", "lo");
	close(s);
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                  */
/* ------------------------------------------------------------------------ */

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
#define NFORWARDED ((int)(sizeof(forwarded) / sizeof(forwarded[0])))

static volatile pid_t forward_pid;    /* outer: pid of the namespace init */
static volatile int forward_group;    /* init: signal the process group */

static void forward_handler(int sig)
{
	int saved = errno;
	pid_t p = forward_pid;
	if (p > 0) {
		/* The command may not have reached setsid()/setpgid() yet, in
		 * which case its group does not exist: signal the process. */
		if (!forward_group || kill(-p, sig) < 0)
			kill(p, sig);
	}
	errno = saved;
}

static void block_forwarded(int how)
{
	sigset_t set;
	sigemptyset(&set);
	for (int k = 0; k < NFORWARDED; k++)
		sigaddset(&set, forwarded[k]);
	if (sigprocmask(how, &set, NULL) < 0)
		die("signals", NULL);
}

static void install_forwarding(pid_t target, int group)
{
	struct sigaction sa;
	forward_pid = target;
	forward_group = group;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_handler;
	sigemptyset(&sa.sa_mask);
	for (int k = 0; k < NFORWARDED; k++)
		if (sigaction(forwarded[k], &sa, NULL) < 0)
			die("signals", NULL);
	block_forwarded(SIG_UNBLOCK);
}

static int status_to_exit(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return EXIT_HELPER;
}

/* ------------------------------------------------------------------------ */
/* Command process                                                          */
/* ------------------------------------------------------------------------ */

static int read_cap_last_cap(void)
{
	char b[16] = { 0 };
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, b, sizeof(b) - 1);
		close(fd);
		if (n > 0) {
			int v = atoi(b);
			if (v > 0 && v < 64)
				return v;
		}
	}
	/* No /proc? Probe: PR_CAPBSET_READ fails with EINVAL past the last. */
	int c = 0;
	while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

static void drop_caps(uint64_t drop, int last_cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (!drop)
		return;
	/* The bounding set caps what any later execve() can grant, even to a
	 * uid 0 or file-capability program (capabilities(7)); removal is
	 * irreversible for this process tree.  Needs CAP_SETPCAP, so first. */
	for (int c = 0; c <= last_cap && c < 64; c++) {
		if ((drop >> c) & 1) {
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
				die("caps", cap_names[c < NCAP_NAMES ? c : 0]);
		}
	}
	/* Inheritable caps survive execve() (P'(permitted) includes
	 * P(inheritable) & F(inheritable), and root's F(inheritable) is all
	 * ones); drop them too, and from our own effective/permitted sets. */
	if (syscall(SYS_capget, &hdr, data) < 0)
		die("caps", "capget");
	for (int w = 0; w < _LINUX_CAPABILITY_U32S_3; w++) {
		uint32_t m = (uint32_t)(drop >> (32 * w));
		data[w].inheritable &= ~m;
		data[w].permitted &= ~m;
		data[w].effective &= ~m;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		die("caps", "capset");
	/* Ambient caps (Linux >= 4.3) are added to P' by a non-setuid exec. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		die("caps", "ambient");
}

static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	/* Ignored signals stay ignored across execve(2) (e.g. SIGPIPE ignored
	 * by node): reset all; errors for SIGKILL/SIGSTOP/libc-internal ones
	 * are expected and harmless. */
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		die("signals", NULL);
}

__attribute__((noreturn))
static void command_main(const struct opts *o, int last_cap, mode_t umask_orig)
{
	if (o->tty) {
		/* Interactive: stay in the caller's session (keep the
		 * controlling terminal) but become the terminal's foreground
		 * process group, so ^C/^Z/^\ and job control reach the command
		 * (credentials(7), tcsetpgrp(3)).  A background group calling
		 * tcsetpgrp gets SIGTTOU, hence the SIG_IGN around it. */
		if (setpgid(0, 0) < 0)
			die("tty", "setpgid");
		signal(SIGTTOU, SIG_IGN);
		if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0)
			die("tty", "tcsetpgrp");
		signal(SIGTTOU, SIG_DFL);
	} else {
		/* New session without a controlling terminal: even if stdin is
		 * the user's terminal, the command cannot TIOCSTI-inject input
		 * into the caller's shell (CVE-2017-5226, bubblewrap; TIOCSTI
		 * needs the tty to be the caller's controlling terminal, or
		 * CAP_SYS_ADMIN, which is dropped) nor signal its job. */
		if (setsid() < 0)
			die("setsid", NULL);
	}
	umask(umask_orig);
	drop_caps(o->drop_caps, last_cap);
	reset_signals();

	/* execvpe(3) looks COMMAND up in getenv("PATH"), i.e. in our own
	 * environ, not in envp: point environ at the new environment so the
	 * lookup uses the sandbox PATH, inside the new root. */
	environ = o->envp;
	execvpe(o->argv[0], o->argv, o->envp);

	int err = errno;
	struct buf b = { .len = 0 };
	buf_add(&b, "rootstrap-helper: exec: ");
	buf_add(&b, o->argv[0]);
	buf_add(&b, ": ");
	buf_add(&b, strerror(err));
	buf_finish_line(&b, STDERR_FILENO);
	if (status_fd >= 0) {
		b.len = 0;
		buf_add(&b, "exec\t");
		buf_add_int(&b, err);
		buf_add(&b, "\t");
		buf_add_escaped(&b, o->argv[0]);
		buf_add(&b, "\t");
		buf_add_escaped(&b, strerror(err));
		buf_finish_line(&b, status_fd);
	}
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* ------------------------------------------------------------------------ */
/* Namespace init (PID 1)                                                   */
/* ------------------------------------------------------------------------ */

__attribute__((noreturn))
static void init_main(const struct opts *o, int rootfd, int alive_fd, int last_cap)
{
	struct stat root_st, st;

	/* Die with the outer helper, even if it is SIGKILLed: as init of the
	 * pid namespace our death then kills every process in it
	 * (pid_namespaces(7)), which drops the mount namespace and so every
	 * mount below. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die("pdeathsig", NULL);
	/* getppid() is 0 for a pid namespace init whether or not the parent
	 * is alive, so detect "parent died before prctl" with a pipe whose
	 * only write end the outer helper holds. */
	struct pollfd pfd = { .fd = alive_fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) != 0)
		_exit(EXIT_HELPER);
	close(alive_fd);

	/* Without --tty, leave the caller's session: terminal-generated
	 * signals then reach the outer helper only, which forwards them once. */
	if (!o->tty && setsid() < 0)
		die("setsid", NULL);

	/* Entries the helper creates get 0755/0644 whatever the caller's
	 * umask; the command gets the caller's umask back. */
	mode_t umask_orig = umask(022);

	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	if (!o->net_host)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		die("unshare", NULL);

	/* Nothing we mount may propagate back to the host (shared subtrees,
	 * see mount_namespaces(7): systemd makes / MS_SHARED). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("mount-private", "/");

	/* pivot_root(2) needs new_root to be a mount point. ROOT's own path
	 * is trusted (chosen by the caller); we check it still names the
	 * directory opened by the outer helper. */
	if (fstat(rootfd, &root_st) < 0)
		die("bind-root", o->root);
	if (mount(o->root, o->root, NULL, MS_BIND | MS_REC, NULL) < 0)
		die("bind-root", o->root);
	int newroot = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (newroot < 0 || fstat(newroot, &st) < 0)
		die("bind-root", o->root);
	if (st.st_dev != root_st.st_dev || st.st_ino != root_st.st_ino)
		die_msg("bind-root", o->root, EXDEV, "ROOT changed while mounting");
	close(rootfd);

	/* proc must be mounted by a process inside the new pid namespace:
	 * it shows the pid namespace of the mounter (proc(5)). */
	mount_fs(newroot, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount-proc");
	protect_proc(newroot);
	mount_fs(newroot, "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mount-sys");
	setup_dev(newroot);
	setup_binds(newroot, o);

	if (sethostname(o->hostname, strlen(o->hostname)) < 0)
		die("hostname", o->hostname);
	if (!o->net_host)
		bring_up_lo();

	/* pivot_root(".", ".") stacks the old root on top of the new one at
	 * "/"; detaching it leaves no path to the host file system, unlike
	 * chroot(2), which a uid 0 process escapes with chroot+chdir("..")
	 * (the classic double-chroot break-out; pivot_root(2) NOTES). */
	if (fchdir(newroot) < 0)
		die("pivot-root", o->root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die("pivot-root", o->root);
	if (umount2(".", MNT_DETACH) < 0)
		die("pivot-root", "old root");
	if (chdir("/") < 0)
		die("pivot-root", "/");
	close(newroot);

	if (chdir(o->workdir) < 0)
		die("workdir", o->workdir);

	/* Init stays alive next to the command, so it must hold nothing that
	 * reaches the host: every fd opened above is closed by now, its root
	 * and cwd are inside the new root.  Also make it non-dumpable: then
	 * /proc/1/{fd,environ,mem,...} need CAP_SYS_PTRACE (dropped by
	 * default; proc(5), ptrace(2) "Ptrace access mode checking"), so the
	 * command cannot read the caller's environment from /proc/1/environ.
	 * execve(2) resets the flag, so the command itself is unaffected. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die("dumpable", NULL);

	/* Close-on-exec pipe: EOF on it means the command either exec'd or
	 * died.  Only then do we close our copy of the status fd, so the
	 * caller sees EOF on it exactly when the command is running. */
	int sync[2];
	if (pipe2(sync, O_CLOEXEC) < 0)
		die("fork", "pipe");
	pid_t cmd = fork();
	if (cmd < 0)
		die("fork", NULL);
	if (cmd == 0) {
		close(sync[0]);
		command_main(o, last_cap, umask_orig);
	}
	close(sync[1]);

	/* Forwarded signals stayed blocked (inherited from the outer helper)
	 * until now: a pid-namespace init drops signals it has no handler
	 * for (pid_namespaces(7)), but blocked ones stay pending. */
	install_forwarding(cmd, 1);

	char c;
	while (read(sync[0], &c, 1) < 0 && errno == EINTR)
		;
	close(sync[0]);
	if (status_fd >= 0) {
		close(status_fd);
		status_fd = -1;
	}

	/* Reap everything (orphans are re-parented to us); exit with the
	 * command's status as soon as it is gone: the kernel then SIGKILLs
	 * whatever it left behind (daemons started by maintainer scripts). */
	for (;;) {
		int wst;
		pid_t p = waitpid(-1, &wst, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			die("wait", NULL);
		}
		if (p == cmd)
			_exit(status_to_exit(wst));
	}
}

/* ------------------------------------------------------------------------ */
/* Modes                                                                    */
/* ------------------------------------------------------------------------ */

__attribute__((noreturn))
static void run(const struct opts *o)
{
	/* If the caller (node) dies, even by SIGKILL, we die.  Note that the
	 * signal fires when the parent *thread* that forked us exits
	 * (prctl(2)); node spawns from its main thread.  Re-check getppid()
	 * afterwards: the parent may have died before the prctl. */
	pid_t ppid = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		die("pdeathsig", NULL);
	if (getppid() != ppid)
		die_msg("pdeathsig", NULL, ESRCH, "parent exited during start-up");

	/* A write to a closed status pipe must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	int last_cap = read_cap_last_cap();

	int rootfd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die("open-root", o->root);

	/* --tty: remember which process group owns the terminal, to give it
	 * back when the command (which takes it over) is gone. */
	pid_t fg = -1;
	if (o->tty) {
		if (!isatty(STDIN_FILENO))
			die_msg("tty", "stdin", ENOTTY, "--tty needs a terminal on stdin");
		fg = tcgetpgrp(STDIN_FILENO);
	}

	/* Block until the forwarding handlers exist, so that no signal sent
	 * while we set up is lost. */
	block_forwarded(SIG_BLOCK);

	int alive[2];
	if (pipe2(alive, O_CLOEXEC) < 0)
		die("fork", "pipe");

	/* Only CLONE_NEWPID here: the other namespaces are unshared by the
	 * namespace init, so that this outer process stays in the host's
	 * mount namespace (pivot_root(2) would otherwise also move our root,
	 * and we would keep the sandbox's mount namespace alive). */
	if (unshare(CLONE_NEWPID) < 0)
		die("unshare", "pid");
	pid_t child = fork();
	if (child < 0)
		die("fork", NULL);
	if (child == 0) {
		close(alive[1]);
		init_main(o, rootfd, alive[0], last_cap);
	}
	close(alive[0]);
	close(rootfd);
	/* From here on only the child and the command report status. */
	if (status_fd >= 0) {
		close(status_fd);
		status_fd = -1;
	}
	install_forwarding(child, 0);

	int wst;
	while (waitpid(child, &wst, 0) < 0) {
		if (errno != EINTR)
			die("wait", NULL);
	}

	/* --tty: give the terminal back to the group that had it. */
	if (o->tty && fg > 0 && tcgetpgrp(STDIN_FILENO) != fg) {
		signal(SIGTTOU, SIG_IGN);
		tcsetpgrp(STDIN_FILENO, fg);
	}
	_exit(status_to_exit(wst));
}

struct devnode {
	const char *name;
	unsigned maj, min;
	mode_t mode;
};

/*
 * Mirror debootstrap's setup_devices_simple (functions, Debian
 * debootstrap 1.0.128+): umask 022, "mknod -m MODE" (exact modes),
 * "mkdir -p", "ln -sf", all as root:root.
 */
__attribute__((noreturn))
static void mkdev(const struct opts *o)
{
	static const struct devnode nodes[] = {
		{ "null", 1, 3, 0666 },
		{ "zero", 1, 5, 0666 },
		{ "full", 1, 7, 0666 },
		{ "random", 1, 8, 0666 },
		{ "urandom", 1, 9, 0666 },
		{ "tty", 5, 0, 0666 },
		/* debootstrap's mknod_if_needed defaults to 666, also for console */
		{ "console", 5, 1, 0666 },
		{ "ptmx", 5, 2, 0666 },
	};
	static const char *const dirs[] = { "pts", "shm" };
	static const char *const links[][2] = {
		{ "fd", "/proc/self/fd" },
		{ "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" },
		{ "stderr", "/proc/self/fd/2" },
	};
	char path[PATH_MAX + 32];
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	/* Modes below are exact (mknod -m), and mkdir under umask 022 = 0755. */
	umask(0);

	int rootfd = open(o->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die("open-root", o->root);
	snprintf(path, sizeof(path), "%s/dev", o->root);
	if (mkdirat(rootfd, "dev", 0755) == 0) {
		if (fchownat(rootfd, "dev", 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
			die("mkdev", path);
	} else if (errno != EEXIST) {
		die("mkdev", path);
	}
	/* Everything below is relative to this fd: ROOT/dev itself must not
	 * be a symlink, and no *at() call below follows a final symlink. */
	int devfd = open_dir_nofollow(rootfd, "dev", 0, "mkdev", path);
	close(rootfd);

	for (size_t k = 0; k < sizeof(nodes) / sizeof(nodes[0]); k++) {
		const struct devnode *n = &nodes[k];
		snprintf(path, sizeof(path), "%s/dev/%s", o->root, n->name);
		if (fstatat(devfd, n->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (errno != ENOENT)
			die("mkdev", path);
		if (mknodat(devfd, n->name, S_IFCHR | n->mode, makedev(n->maj, n->min)) < 0) {
			/* debootstrap: "Inside a container, we might not be
			 * allowed to create /dev/ptmx. If not, do the next best
			 * thing." (a symlink into a ptmxmode=666 devpts) */
			if (strcmp(n->name, "ptmx") == 0 && (errno == EPERM || errno == EACCES)) {
				if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
					die("mkdev", path);
			} else {
				die("mkdev", path);
			}
		}
		/* A setgid dev/ would hand its group to new entries. */
		if (fchownat(devfd, n->name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
			die("mkdev", path);
	}

	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		snprintf(path, sizeof(path), "%s/dev/%s", o->root, dirs[k]);
		if (mkdirat(devfd, dirs[k], 0755) == 0) {
			if (fchownat(devfd, dirs[k], 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
				die("mkdev", path);
			continue;
		}
		if (errno != EEXIST)
			die("mkdev", path);
		if (fstatat(devfd, dirs[k], &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("mkdev", path);
		if (!S_ISDIR(st.st_mode))
			die_msg("mkdev", path, EEXIST, "exists and is not a directory");
	}

	for (size_t k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
		snprintf(path, sizeof(path), "%s/dev/%s", o->root, links[k][0]);
		if (fstatat(devfd, links[k][0], &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;   /* unlike "ln -sf", keep an existing entry */
		if (errno != ENOENT)
			die("mkdev", path);
		if (symlinkat(links[k][1], devfd, links[k][0]) < 0)
			die("mkdev", path);
		if (fchownat(devfd, links[k][0], 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
			die("mkdev", path);
	}
	close(devfd);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct opts o;
	parse_args(argc, argv, &o);
	if (o.mkdev)
		mkdev(&o);
	run(&o);
}
