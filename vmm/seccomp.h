/* vmm/seccomp.h: the syscall allow-list of the VMM's guest-facing threads.
 *
 * Installed by each vCPU thread and the console thread for itself, after
 * setup and before the guest's first instruction (as Firecracker does per
 * thread). Allowed: I/O on descriptors that are already open, the KVM
 * ioctls of the run loop, futexes, signals for the stop kick, clocks,
 * memory allocation without PROT_EXEC, and thread exit. Anything else (no
 * open, no exec, no socket, no fork) kills the whole process with SIGSYS.
 */
#ifndef APKG_VMM_SECCOMP_H
#define APKG_VMM_SECCOMP_H

/* Sets no_new_privs and installs the filter on the calling thread. 0 or -1. */
int vmm_seccomp_install(void);
/* What a guest-facing thread does first: blocks every asynchronous signal
 * but keep_signal (the stop kick), so that SIGINT, SIGTERM and the like are
 * handled by the caller's thread, whose handlers may use any syscall; then
 * installs the filter. 0 or -1. */
int vmm_thread_lockdown(int keep_signal);

#endif
