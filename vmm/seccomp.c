/* vmm/seccomp.c: a classic-BPF seccomp filter (Documentation/userspace-api/seccomp_filter.rst). */
#include "vmm/seccomp.h"

#include "util/diag.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR_OFF offsetof(struct seccomp_data, nr)
#define ARCH_OFF offsetof(struct seccomp_data, arch)
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

/* Syscalls allowed with any arguments. */
static const unsigned allowed[] = {
	SYS_read, SYS_write, SYS_pread64, SYS_pwrite64, SYS_readv, SYS_writev,
	SYS_poll, SYS_ppoll, SYS_futex, SYS_sched_yield,
	SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_sigaltstack, SYS_restart_syscall,
	SYS_clock_gettime, SYS_clock_nanosleep, SYS_nanosleep,
	SYS_munmap, SYS_madvise, SYS_brk,
	SYS_getpid, SYS_gettid, SYS_tgkill, /* abort() on a failed assertion */
	SYS_exit, SYS_exit_group,
};

/* ioctl requests of the run loop (the register dump included), and TCGETS:
 * error messages ask isatty(stderr) whether to use colour. */
static const unsigned long allowed_ioctls[] = {
	KVM_RUN, KVM_IRQ_LINE, KVM_GET_REGS, KVM_GET_SREGS, KVM_TRANSLATE, TCGETS,
};

#define MAX_FILTER 128

struct prog {
	struct sock_filter f[MAX_FILTER];
	unsigned short n;
};

static void emit(struct prog *p, struct sock_filter ins)
{
	if (p->n < MAX_FILTER)
		p->f[p->n++] = ins;
}

/* nr == value: allow */
static void allow_nr(struct prog *p, unsigned nr)
{
	emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
}

/* ioctl: the request (argument 1) must be one of ours, its high half zero. */
static void allow_ioctls(struct prog *p)
{
	unsigned n = sizeof allowed_ioctls / sizeof allowed_ioctls[0];
	emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, (unsigned char)(4 + 2 * n)));
	emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(1)));
	emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (unsigned char)(1 + 2 * n)));
	emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)));
	for (unsigned i = 0; i < n; i++) {
		emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)allowed_ioctls[i], 0, 1));
		emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	}
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF)); /* reload nr for the checks after */
}

/* mmap and mprotect: allowed unless the protection (argument 2) asks for PROT_EXEC. */
static void allow_without_exec(struct prog *p, unsigned nr)
{
	emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4));
	emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)));
	emit(p, JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 1, 0));
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

static void build(struct prog *p)
{
	p->n = 0;
	emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, ARCH_OFF));
	emit(p, JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0));
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	emit(p, STMT(BPF_LD | BPF_W | BPF_ABS, NR_OFF));
	/* x32 syscalls share the architecture value; refuse them outright. */
	emit(p, JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1));
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	for (unsigned i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		allow_nr(p, allowed[i]);
	allow_ioctls(p);
	allow_without_exec(p, SYS_mmap);
	allow_without_exec(p, SYS_mprotect);
	emit(p, STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

static struct prog filter; /* built once; the same for every thread */
static pthread_once_t filter_once = PTHREAD_ONCE_INIT;

static void build_filter(void)
{
	build(&filter);
}

int vmm_seccomp_install(void)
{
	pthread_once(&filter_once, build_filter);
	const struct prog *p = &filter;
	if (p->n >= MAX_FILTER)
		return error("seccomp: the filter is too long");
	struct sock_fprog fprog = {.len = p->n, .filter = (struct sock_filter *)p->f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_errno("prctl(PR_SET_NO_NEW_PRIVS)");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return error_errno("seccomp(SECCOMP_SET_MODE_FILTER)");
	return 0;
}

int vmm_thread_lockdown(int keep_signal)
{
	sigset_t block;
	sigfillset(&block);
	/* Faults are delivered to the thread that caused them; they stay deliverable. */
	static const int synchronous[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGSYS, SIGABRT, SIGTRAP};
	for (size_t i = 0; i < sizeof synchronous / sizeof synchronous[0]; i++)
		sigdelset(&block, synchronous[i]);
	sigdelset(&block, keep_signal);
	if (pthread_sigmask(SIG_BLOCK, &block, NULL) != 0)
		return error("pthread_sigmask failed");
	return vmm_seccomp_install();
}
