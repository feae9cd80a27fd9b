/* vmm/vmm.h: apkg's KVM micro-VMM: boot a Linux kernel, an initrd and disks.
 *
 * The machine: 1..VMM_MAX_CPUS vCPUs entered through the 64-bit Linux boot
 * protocol, an in-kernel IOAPIC/PIC/PIT, a 16550A on COM1, an i8042 that
 * only resets, a read-only CMOS clock, virtio-mmio block devices and ACPI
 * tables that describe them (see vmm/layout.h for the address map). It knows nothing about
 * apkg's recipes or images: it boots what it is given.
 *
 * Promises: guest memory and guest requests are treated as hostile; disks
 * are never written (guest writes go to a private overlay); every thread
 * that handles guest exits runs under a seccomp allow-list from before the
 * guest's first instruction; vmm_run() returns how the guest ended and
 * frees everything it allocated.
 */
#ifndef APKG_VMM_VMM_H
#define APKG_VMM_VMM_H

#include <stddef.h>
#include <stdint.h>

/* How the guest ended. */
enum vmm_end {
	VMM_END_POWEROFF,     /* ACPI S5 through the FADT sleep control register */
	VMM_END_RESET,        /* ACPI reset register, or i8042 command 0xFE (reboot=k) */
	VMM_END_TRIPLE_FAULT, /* KVM_EXIT_SHUTDOWN (reboot=t, or a crash) */
	VMM_END_TIMEOUT,      /* the time limit ran out */
	VMM_END_STOPPED,      /* the user typed the console escape (Ctrl-A x) */
	VMM_END_ERROR,        /* the VMM could not set the guest up, or the guest broke the vCPU */
};

struct vmm_config {
	const void *kernel;        /* a bzImage (boot protocol >= 2.12, XLF_KERNEL_64) */
	size_t kernel_size;
	const void *initrd;        /* may be NULL */
	size_t initrd_size;
	const char *cmdline;       /* may be NULL */
	const char *const *disks;  /* image paths: one virtio-blk device each, in order */
	unsigned n_disks;
	unsigned cpus;             /* 0 means 1 */
	uint64_t mem_bytes;        /* 0 means 512 MiB */
	unsigned timeout_ms;       /* 0: no limit */
	int console_in;            /* COM1's input, or -1; a terminal is put in raw mode */
	int console_out;           /* COM1's output */
	const char *dump_acpi_dir; /* if set, the ACPI tables are written there as NAME.dat */
	int quiet;                 /* no progress lines on stderr */
	/* Tests only: a guest write to VMM_PORT_TEST_SYSCALL makes the vCPU
	 * thread call a syscall outside the seccomp allow-list. */
	int test_forbidden_syscall;
};

struct vmm_stats {
	uint64_t setup_ns;        /* vmm_run() entry to the first KVM_RUN */
	uint64_t boot_timer_ns;   /* vmm_run() entry to the guest's first write to the boot-timer port, or 0 */
	uint64_t boot_timer_realtime_ns; /* CLOCK_REALTIME of that write (to compare with a process start) */
	uint64_t run_ns;          /* first KVM_RUN to the end */
	uint64_t vmm_rss_kb;      /* resident memory of the process minus guest RAM, at the end */
	uint64_t guest_rss_kb;    /* guest RAM the guest touched */
	uint64_t exits;           /* exits handled by user space */
	uint64_t disk_requests, disk_bad_requests;
};

/* Runs the guest to its end. stats may be NULL. Setup errors are printed
 * and give VMM_END_ERROR. */
enum vmm_end vmm_run(const struct vmm_config *c, struct vmm_stats *stats);
const char *vmm_end_describe(enum vmm_end e);
/* Poweroff, resets (a triple fault included: `reboot=t`) and a stop from the
 * console are clean; timeouts and errors are not. */
int vmm_end_is_clean(enum vmm_end e);

/* 1 if /dev/kvm is backed by hardware virtualization (VMX or SVM in
 * /proc/cpuinfo and kvm_intel or kvm_amd loaded), so that a stock kernel
 * boots in useful time; 0 otherwise, with the reason in why. */
int vmm_hw_virt_available(char *why, size_t n);
/* 1 if /dev/kvm can be opened at all (hardware or kvm-pvm); 0 with the reason. */
int vmm_kvm_available(char *why, size_t n);

#endif
