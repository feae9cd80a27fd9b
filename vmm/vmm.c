/* vmm/vmm.c: vmm_run(): set the machine up, run its vCPUs, end it cleanly.
 *
 * Threads: the caller's thread sets everything up, starts one thread per
 * vCPU and the console input thread, then only waits for the end (or the
 * time limit) and tears down. The vCPU and console threads install the
 * seccomp filter before anything of the guest reaches them. Device state is
 * guarded by one lock (dev_lock); the end of the VM by another (end_lock):
 * the first reason to end wins, then every vCPU is kicked out of KVM_RUN
 * (immediate_exit + a signal) and joined.
 */
#include "vmm/vmm.h"

#include "util/diag.h"
#include "util/strbuf.h"
#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/host_console.h"
#include "vmm/cow_disk.h"
#include "vmm/cpu.h"
#include "vmm/i8042.h"
#include "vmm/kvm.h"
#include "vmm/layout.h"
#include "vmm/pm.h"
#include "vmm/rtc.h"
#include "vmm/seccomp.h"
#include "vmm/serial.h"
#include "vmm/virtio_blk.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MEM (512ull << 20)

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned index;
	struct kvm_vcpu k;
	pthread_t thread;
	bool started;
};

struct vm {
	const struct vmm_config *cfg;
	struct kvm_vm kvm;
	struct guest_mem mem;
	struct cpu_cpuid cpuid;
	struct vcpu vcpu[VMM_MAX_CPUS];
	unsigned n_vcpus;
	pthread_mutex_t dev_lock;
	struct serial com1;
	struct rtc rtc;
	struct host_console console;
	bool console_ready;
	struct virtio_blk *blk[VMM_MAX_VIRTIO];
	unsigned n_blk;
	struct acpi_tables acpi;

	pthread_mutex_t end_lock;
	pthread_cond_t end_cond;
	bool ended;
	enum vmm_end end;
	int stopping; /* atomic: the vCPUs must leave their loops */

	uint64_t t0, first_run, boot_timer, boot_timer_realtime, exits; /* atomic where shared */
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void vm_end(struct vm *vm, enum vmm_end why)
{
	pthread_mutex_lock(&vm->end_lock);
	if (!vm->ended) {
		vm->ended = true;
		vm->end = why;
		pthread_cond_signal(&vm->end_cond);
	}
	pthread_mutex_unlock(&vm->end_lock);
}

/* ---- interrupt lines and console glue (called with dev_lock held) ---- */

static void serial_irq(void *opaque, unsigned irq, int level)
{
	struct vm *vm = opaque;
	kvm_irq_line(&vm->kvm, irq, level);
}

static void serial_out(void *opaque, uint8_t byte)
{
	struct vm *vm = opaque;
	host_console_output(&vm->console, byte);
}

/* virtio-mmio interrupts are edge-triggered (the DSDT says so): a pulse per event. */
static void virtio_irq(void *opaque, unsigned gsi)
{
	struct vm *vm = opaque;
	kvm_irq_line(&vm->kvm, gsi, 1);
	kvm_irq_line(&vm->kvm, gsi, 0);
}

static size_t console_deliver(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;
	pthread_mutex_lock(&vm->dev_lock);
	size_t n = serial_receive(&vm->com1, buf, len);
	pthread_mutex_unlock(&vm->dev_lock);
	return n;
}

static void console_user_stop(void *opaque)
{
	vm_end(opaque, VMM_END_STOPPED);
}

/* ---- exits ---- */

static void forbidden_syscall_for_test(struct vm *vm)
{
	/* The seccomp filter must kill the process right here. */
	long r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	error("seccomp did not stop socket() (it returned %ld)", r);
	vm_end(vm, VMM_END_ERROR);
}

static void boot_timer_write(struct vm *vm)
{
	uint64_t expected = 0, now = clock_ns(CLOCK_MONOTONIC) - vm->t0;
	if (__atomic_compare_exchange_n(&vm->boot_timer, &expected, now, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		__atomic_store_n(&vm->boot_timer_realtime, clock_ns(CLOCK_REALTIME), __ATOMIC_SEQ_CST);
}

/* One port access; returns 1 when it ended the VM. */
static int port_access(struct vm *vm, uint16_t port, uint8_t *data, unsigned size, bool is_write)
{
	if (port >= VMM_PORT_COM1 && port < VMM_PORT_COM1 + 8 && size == 1) {
		pthread_mutex_lock(&vm->dev_lock);
		serial_io(&vm->com1, port - VMM_PORT_COM1, data, is_write);
		pthread_mutex_unlock(&vm->dev_lock);
	} else if ((port == VMM_PORT_I8042_DATA || port == VMM_PORT_I8042_CMD) && size == 1) {
		if (i8042_io(port, data, is_write)) {
			vm_end(vm, VMM_END_RESET);
			return 1;
		}
	} else if ((port == RTC_PORT_INDEX || port == RTC_PORT_DATA) && size == 1) {
		pthread_mutex_lock(&vm->dev_lock);
		rtc_io(&vm->rtc, port, data, is_write, time(NULL));
		pthread_mutex_unlock(&vm->dev_lock);
	} else if (port >= VMM_PORT_SLEEP_CONTROL && port <= VMM_PORT_RESET && size == 1) {
		enum pm_request r = pm_io(port, data, is_write);
		if (r != PM_NONE) {
			vm_end(vm, r == PM_POWEROFF ? VMM_END_POWEROFF : VMM_END_RESET);
			return 1;
		}
	} else if (port == VMM_PORT_BOOT_TIMER && is_write) {
		boot_timer_write(vm);
	} else if (port == VMM_PORT_TEST_SYSCALL && is_write && vm->cfg->test_forbidden_syscall) {
		forbidden_syscall_for_test(vm);
		return 1;
	} else if (!is_write) {
		memset(data, 0xff, size); /* nothing there: the bus floats high */
	}
	return 0;
}

static int handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->k.run;
	unsigned size = run->io.size;
	uint64_t end = (uint64_t)run->io.data_offset + (uint64_t)run->io.count * size;
	if (size == 0 || size > 4 || end > v->vm->kvm.run_size) {
		error("vCPU %u: malformed I/O exit", v->index);
		vm_end(v->vm, VMM_END_ERROR);
		return 1;
	}
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += size)
		if (port_access(v->vm, run->io.port, data, size, run->io.direction == KVM_EXIT_IO_OUT))
			return 1;
	return 0;
}

static void handle_mmio(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->k.run;
	uint64_t addr = run->mmio.phys_addr;
	unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;
	for (unsigned i = 0; i < vm->n_blk; i++) {
		uint64_t base = VMM_VIRTIO_MMIO_BASE + i * VMM_VIRTIO_MMIO_STRIDE;
		if (addr >= base && addr - base < VMM_VIRTIO_MMIO_SIZE) {
			pthread_mutex_lock(&vm->dev_lock);
			virtio_mmio_access(&vm->blk[i]->transport, addr - base, run->mmio.data, len, run->mmio.is_write);
			pthread_mutex_unlock(&vm->dev_lock);
			return;
		}
	}
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0, len);
}

static void guest_broke_vcpu(struct vcpu *v, const char *what)
{
	error("vCPU %u: %s", v->index, what);
	kvm_dump_vcpu(&v->k, &v->vm->mem);
	vm_end(v->vm, VMM_END_ERROR);
}

/* Returns 1 when this vCPU must stop. */
static int handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->k.run;
	char what[96];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return 0;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return 0;
	case KVM_EXIT_SHUTDOWN:
		if (getenv("APKG_VMM_DEBUG")) /* a triple fault is often a crash: show where */
			kvm_dump_vcpu(&v->k, &v->vm->mem);
		vm_end(v->vm, VMM_END_TRIPLE_FAULT);
		return 1;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_end(v->vm, VMM_END_POWEROFF);
		} else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vm_end(v->vm, VMM_END_RESET);
		} else {
			snprintf(what, sizeof what, "system event %u", run->system_event.type);
			guest_broke_vcpu(v, what);
		}
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof what, "KVM_EXIT_INTERNAL_ERROR (suberror %u)", run->internal.suberror);
		guest_broke_vcpu(v, what);
		return 1;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof what, "KVM_EXIT_FAIL_ENTRY (reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		guest_broke_vcpu(v, what);
		return 1;
	default:
		snprintf(what, sizeof what, "unexpected exit reason %u", run->exit_reason);
		guest_broke_vcpu(v, what);
		return 1;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	if (vmm_thread_lockdown(SIGRTMIN) < 0) {
		vm_end(vm, VMM_END_ERROR);
		return NULL;
	}
	if (v->index == 0)
		__atomic_store_n(&vm->first_run, clock_ns(CLOCK_MONOTONIC), __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&vm->stopping, __ATOMIC_SEQ_CST)) {
		if (ioctl(v->k.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			error_errno("KVM_RUN (vCPU %u)", v->index);
			vm_end(vm, VMM_END_ERROR);
			break;
		}
		__atomic_add_fetch(&vm->exits, 1, __ATOMIC_RELAXED);
		if (handle_exit(v))
			break;
	}
	return NULL;
}

/* ---- setup ---- */

static int check_config(const struct vmm_config *c, unsigned *cpus, uint64_t *mem)
{
	*cpus = c->cpus ? c->cpus : 1;
	*mem = c->mem_bytes ? c->mem_bytes : DEFAULT_MEM;
	if (!c->kernel || !c->kernel_size)
		return error("vmm: no kernel given");
	if (*cpus > VMM_MAX_CPUS)
		return error("vmm: %u vCPUs asked for, at most %u", *cpus, VMM_MAX_CPUS);
	if (*mem < VMM_MIN_MEM || *mem > VMM_MAX_MEM)
		return error("vmm: guest memory must be between %llu MiB and %llu GiB",
			     VMM_MIN_MEM >> 20, VMM_MAX_MEM >> 30);
	if (c->n_disks > VMM_MAX_VIRTIO)
		return error("vmm: %u disks asked for, at most %u", c->n_disks, VMM_MAX_VIRTIO);
	return boot_check_kernel(c->kernel, c->kernel_size, NULL);
}

static int setup_disks(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg->n_disks; i++) {
		struct disk_backend *b = disk_backend_open(vm->cfg->disks[i]);
		struct cow_disk *d = b ? cow_disk_create(b) : NULL;
		if (!d)
			return -1;
		char serial[32];
		snprintf(serial, sizeof serial, "apkg-vmm-disk%u", i % VMM_MAX_VIRTIO);
		vm->blk[i] = xmalloc(sizeof *vm->blk[i]);
		virtio_blk_init(vm->blk[i], d, serial, &vm->mem, VMM_VIRTIO_GSI_BASE + i, virtio_irq, vm);
		vm->n_blk++;
	}
	return 0;
}

static int setup_acpi(struct vm *vm)
{
	struct acpi_virtio_device dev[VMM_MAX_VIRTIO];
	for (unsigned i = 0; i < vm->n_blk; i++)
		dev[i] = (struct acpi_virtio_device){(uint32_t)(VMM_VIRTIO_MMIO_BASE + i * VMM_VIRTIO_MMIO_STRIDE),
						      (uint32_t)VMM_VIRTIO_MMIO_SIZE, VMM_VIRTIO_GSI_BASE + i};
	struct acpi_machine m = {.n_cpus = vm->n_vcpus, .virtio = dev, .n_virtio = vm->n_blk};
	uint8_t *area = guest_mem_ptr(&vm->mem, VMM_ACPI_ADDR, VMM_ACPI_SIZE);
	if (!area || acpi_build(&m, area, VMM_ACPI_SIZE, VMM_ACPI_ADDR, &vm->acpi) < 0)
		return -1;
	if (vm->cfg->dump_acpi_dir && acpi_dump(&vm->acpi, vm->cfg->dump_acpi_dir) < 0)
		return -1;
	return 0;
}

static int setup_vcpus(struct vm *vm, const struct boot_layout *boot)
{
	if (cpu_supported_cpuid(vm->kvm.kvm_fd, &vm->cpuid) < 0)
		return -1;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->vm = vm;
		v->index = i;
		if (kvm_create_vcpu(&vm->kvm, i, &v->k) < 0 ||
		    cpu_setup_vcpu(v->k.fd, i, &vm->cpuid, boot->entry, boot->zero_page) < 0)
			return -1;
	}
	return 0;
}

static int vm_setup(struct vm *vm, const struct vmm_config *c)
{
	unsigned cpus;
	uint64_t mem;
	char why[256];
	if (check_config(c, &cpus, &mem) < 0)
		return -1;
	if (kvm_open(&vm->kvm, why, sizeof why) < 0)
		return error("vmm: %s", why);
	if (guest_mem_alloc(&vm->mem, mem) < 0 || kvm_create_machine(&vm->kvm, &vm->mem) < 0)
		return -1;
	vm->n_vcpus = cpus;
	serial_init(&vm->com1, VMM_IRQ_COM1, serial_out, serial_irq, vm);
	if (setup_disks(vm) < 0 || setup_acpi(vm) < 0)
		return -1;
	struct boot_image img = {c->kernel, c->kernel_size, c->initrd, c->initrd_size, c->cmdline};
	struct boot_layout boot;
	if (boot_load(&vm->mem, &img, VMM_ACPI_ADDR, &boot) < 0 || cpu_write_boot_tables(&vm->mem) < 0)
		return -1;
	if (setup_vcpus(vm, &boot) < 0)
		return -1;
	if (host_console_init(&vm->console, c->console_in, c->console_out, console_deliver, console_user_stop, vm) < 0)
		return -1;
	vm->console_ready = true;
	return 0;
}

/* ---- running and ending ---- */

static void kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

/* Installed once and left in place: VMs may run in several threads at once
 * (apkg test), and restoring the default action (terminate) under a running
 * VM would make its next kick kill the process. */
static void install_kick_handler(void)
{
	struct sigaction kick = {.sa_handler = kick_handler};
	sigemptyset(&kick.sa_mask);
	sigaction(SIGRTMIN, &kick, NULL);
}

static int vm_start(struct vm *vm)
{
	if (host_console_start(&vm->console) < 0)
		return -1;
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (pthread_create(&v->thread, NULL, vcpu_thread, v) != 0)
			return error("cannot start the thread of vCPU %u", i);
		v->started = true;
	}
	return 0;
}

static enum vmm_end vm_wait(struct vm *vm, unsigned timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&vm->end_lock);
	while (!vm->ended) {
		int r = timeout_ms ? pthread_cond_timedwait(&vm->end_cond, &vm->end_lock, &deadline)
				   : pthread_cond_wait(&vm->end_cond, &vm->end_lock);
		if (r == ETIMEDOUT && !vm->ended) {
			vm->ended = true;
			vm->end = VMM_END_TIMEOUT;
		}
	}
	enum vmm_end e = vm->end;
	pthread_mutex_unlock(&vm->end_lock);
	return e;
}

static void vm_stop(struct vm *vm)
{
	__atomic_store_n(&vm->stopping, 1, __ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		if (!v->started)
			continue;
		__atomic_store_n(&v->k.run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, SIGRTMIN);
	}
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		if (vm->vcpu[i].started)
			pthread_join(vm->vcpu[i].thread, NULL);
		vm->vcpu[i].started = false;
	}
	if (vm->console_ready)
		host_console_finish(&vm->console);
	vm->console_ready = false;
}

/* Resident kB of the guest RAM mapping (from /proc/self/smaps) and of the whole process. */
static void measure_rss(const struct vm *vm, uint64_t *guest_kb, uint64_t *total_kb)
{
	*guest_kb = *total_kb = 0;
	FILE *f = fopen("/proc/self/smaps", "re");
	if (!f)
		return;
	char line[512];
	bool in_guest = false;
	unsigned long start;
	while (fgets(line, sizeof line, f)) {
		unsigned long long kb;
		if (sscanf(line, "%lx-", &start) == 1 && strchr(line, '-') && strchr(line, ' '))
			in_guest = vm->mem.mapping && start == (unsigned long)(uintptr_t)vm->mem.mapping;
		else if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			*total_kb += kb;
			if (in_guest)
				*guest_kb += kb;
		}
	}
	fclose(f);
}

static void collect_stats(struct vm *vm, struct vmm_stats *st)
{
	memset(st, 0, sizeof *st);
	uint64_t end = clock_ns(CLOCK_MONOTONIC);
	if (vm->first_run) {
		st->setup_ns = vm->first_run - vm->t0;
		st->run_ns = end - vm->first_run;
	}
	st->boot_timer_ns = vm->boot_timer;
	st->boot_timer_realtime_ns = vm->boot_timer_realtime;
	st->exits = vm->exits;
	uint64_t total;
	measure_rss(vm, &st->guest_rss_kb, &total);
	st->vmm_rss_kb = total - st->guest_rss_kb;
	for (unsigned i = 0; i < vm->n_blk; i++) {
		st->disk_requests += vm->blk[i]->requests;
		st->disk_bad_requests += vm->blk[i]->bad_requests;
	}
}

static void vm_teardown(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpu[i].k.run)
			kvm_destroy_vcpu(&vm->kvm, &vm->vcpu[i].k);
	for (unsigned i = 0; i < vm->n_blk; i++) {
		virtio_blk_destroy(vm->blk[i]);
		free(vm->blk[i]);
	}
	cpu_cpuid_free(&vm->cpuid);
	kvm_close(&vm->kvm);
	guest_mem_free(&vm->mem);
	pthread_mutex_destroy(&vm->dev_lock);
	pthread_mutex_destroy(&vm->end_lock);
	pthread_cond_destroy(&vm->end_cond);
}

static void vm_init_sync(struct vm *vm)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->end_cond, &a);
	pthread_condattr_destroy(&a);
	pthread_mutex_init(&vm->dev_lock, NULL);
	pthread_mutex_init(&vm->end_lock, NULL);
	vm->kvm.kvm_fd = vm->kvm.vm_fd = -1;
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++)
		vm->vcpu[i].k.fd = -1;
}

enum vmm_end vmm_run(const struct vmm_config *c, struct vmm_stats *stats)
{
	struct vm *vm = xcalloc(1, sizeof *vm);
	vm->cfg = c;
	vm->t0 = clock_ns(CLOCK_MONOTONIC);
	vm_init_sync(vm);
	static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
	pthread_once(&kick_once, install_kick_handler);

	enum vmm_end end = VMM_END_ERROR;
	if (vm_setup(vm, c) == 0 && vm_start(vm) == 0)
		end = vm_wait(vm, c->timeout_ms);
	else
		vm_end(vm, VMM_END_ERROR);
	vm_stop(vm);
	if (stats)
		collect_stats(vm, stats);
	vm_teardown(vm);
	free(vm);
	return end;
}

const char *vmm_end_describe(enum vmm_end e)
{
	switch (e) {
	case VMM_END_POWEROFF: return "the guest powered off";
	case VMM_END_RESET: return "the guest reset the machine";
	case VMM_END_TRIPLE_FAULT: return "the guest triple-faulted (a reset)";
	case VMM_END_TIMEOUT: return "the time limit ran out";
	case VMM_END_STOPPED: return "stopped from the console";
	case VMM_END_ERROR: break;
	}
	return "the VMM failed";
}

int vmm_end_is_clean(enum vmm_end e)
{
	return e == VMM_END_POWEROFF || e == VMM_END_RESET || e == VMM_END_TRIPLE_FAULT || e == VMM_END_STOPPED;
}
