/* tests/unit/test_vmm_boot.c: the bzImage loader and zero page, the seccomp filter,
 * and hardware-virtualization detection, without running a guest.
 *
 * The loader is checked against Documentation/arch/x86/boot.rst field by
 * field, with a synthetic bzImage and with hostile ones (every header
 * check, cmdline_size, a kernel or initrd that cannot fit). The seccomp
 * filter is proven in forked children: a forbidden syscall (socket, open,
 * an executable mmap) kills with SIGSYS, the run loop's calls do not.
 */
#include "tests/unit/test.h"
#include "util/strbuf.h"
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/seccomp.h"
#include "vmm/vmm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RAM (32u << 20)

static uint16_t g16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t g32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t g64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void p16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void p32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* A bzImage of setup_sects 2 and a payload of n bytes. */
static uint8_t *make_kernel(size_t payload, size_t *size)
{
	*size = 3 * 512 + payload;
	uint8_t *k = calloc(1, *size);
	k[0x1f1] = 2;
	p16(k + 0x1fe, 0xaa55);
	k[0x201] = 0x6a;
	memcpy(k + 0x202, "HdrS", 4);
	p16(k + 0x206, 0x020f);
	k[0x211] = 0x01;
	p32(k + 0x22c, 0x37ffffff);
	k[0x236] = 0x01;
	p32(k + 0x238, 64);
	p32(k + 0x260, 4u << 20);
	for (size_t i = 0; i < payload; i++)
		k[3 * 512 + i] = (uint8_t)(i ^ 0x5a);
	return k;
}

static void test_loads_per_boot_protocol(void)
{
	uint8_t *ram = calloc(1, RAM);
	struct guest_mem mem;
	guest_mem_borrow(&mem, ram, RAM);
	size_t ks;
	uint8_t *k = make_kernel(10000, &ks);
	uint8_t initrd[5000];
	memset(initrd, 0xab, sizeof initrd);
	struct boot_image img = {k, ks, initrd, sizeof initrd, "console=ttyS0 apkg.check=1"};
	struct boot_layout b;
	CHECK(boot_load(&mem, &img, 0xe0000, &b) == 0);
	CHECK(b.entry == 0x100200 && b.zero_page == VMM_ZERO_PAGE_ADDR && b.version == 0x020f);
	CHECK(!memcmp(ram + 0x100000, k + 3 * 512, 10000));
	const uint8_t *zp = ram + VMM_ZERO_PAGE_ADDR;
	CHECK(!memcmp(zp + 0x202, "HdrS", 4) && zp[0x1f1] == 2 && g16(zp + 0x206) == 0x020f);
	CHECK(zp[0x210] == 0xff && g32(zp + 0x228) == VMM_CMDLINE_ADDR);
	CHECK(!strcmp((const char *)ram + VMM_CMDLINE_ADDR, "console=ttyS0 apkg.check=1"));
	uint32_t ird = g32(zp + 0x218);
	CHECK(g32(zp + 0x21c) == sizeof initrd && ird % 4096 == 0 && ird + sizeof initrd <= RAM);
	CHECK(ird >= b.kernel_end && ram[ird] == 0xab && ram[ird + sizeof initrd - 1] == 0xab);
	CHECK(g64(zp + 0x070) == 0xe0000);
	CHECK(zp[0x1e8] == 3);
	CHECK(g64(zp + 0x2d0 + 40) == 0x100000 && g64(zp + 0x2d0 + 48) == RAM - 0x100000 && g32(zp + 0x2d0 + 56) == 1);
	/* initrd_addr_max bounds the initrd from above. */
	p32(k + 0x22c, (16u << 20) - 1);
	CHECK(boot_load(&mem, &img, 0xe0000, &b) == 0 && b.initrd_addr + sizeof initrd <= 16u << 20);
	free(k);
	free(ram);
}

static void test_refuses_hostile_kernels(void)
{
	uint8_t *ram = calloc(1, RAM);
	struct guest_mem mem;
	guest_mem_borrow(&mem, ram, RAM);
	size_t ks;
	uint8_t *k = make_kernel(4096, &ks);
	struct boot_image img = {k, ks, NULL, 0, NULL};
	struct boot_layout b;
	CHECK(boot_check_kernel(k, 100, NULL) < 0);
	k[0x1fe] = 0;
	CHECK(boot_check_kernel(k, ks, NULL) < 0);
	k[0x1fe] = 0x55;
	p16(k + 0x206, 0x020b);
	CHECK(boot_check_kernel(k, ks, NULL) < 0);
	p16(k + 0x206, 0x020f);
	k[0x236] = 0;
	CHECK(boot_check_kernel(k, ks, NULL) < 0);
	k[0x236] = 1;
	k[0x211] = 0;
	CHECK(boot_check_kernel(k, ks, NULL) < 0);
	k[0x211] = 1;
	k[0x1f1] = 200; /* setup beyond the file */
	CHECK(boot_check_kernel(k, ks, NULL) < 0);
	k[0x1f1] = 2;
	CHECK(boot_check_kernel(k, ks, NULL) == 0);
	char cl[100];
	memset(cl, 'x', 99);
	cl[99] = 0;
	img.cmdline = cl; /* cmdline_size is 64 */
	memset(ram, 0x11, RAM);
	CHECK(boot_load(&mem, &img, 0, &b) < 0);
	CHECK(ram[0x100000] == 0x11); /* nothing written before the checks passed */
	img.cmdline = NULL;
	p32(k + 0x260, RAM); /* init_size larger than RAM */
	CHECK(boot_load(&mem, &img, 0, &b) < 0);
	p32(k + 0x260, 4u << 20);
	static uint8_t big[RAM - (4u << 20)];
	img.initrd = big;
	img.initrd_size = sizeof big; /* does not fit above the kernel's 4 MiB */
	CHECK(boot_load(&mem, &img, 0, &b) < 0);
	free(k);
	free(ram);
}

/* Runs fn in a child with the filter installed; returns the child's wait status. */
static int in_filtered_child(void (*fn)(void))
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		if (vmm_seccomp_install() < 0)
			_exit(90);
		fn();
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static void do_socket(void) { syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }
static void do_open(void) { syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY); }
static void do_exec_mmap(void) { mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); }
static void do_fork(void) { syscall(SYS_fork); }
static void do_foreign_ioctl(void) { ioctl(0, KVM_CREATE_VCPU, 0); }

static void *thread_fn(void *a) { return a; }

static void do_run_loop_calls(void)
{
	char buf[8] = "ok\n";
	if (write(-1, buf, 3) != -1)
		_exit(91);
	void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		_exit(92);
	munmap(p, 1 << 20);
	free(malloc(100000));
	ioctl(-1, KVM_RUN, 0);
	ioctl(-1, KVM_IRQ_LINE, 0);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	(void)thread_fn;
}

static void test_seccomp_filter(void)
{
	static const struct { const char *what; void (*fn)(void); } forbidden[] = {
		{"socket", do_socket}, {"openat", do_open}, {"executable mmap", do_exec_mmap},
		{"fork", do_fork}, {"ioctl KVM_CREATE_VCPU", do_foreign_ioctl},
	};
	for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
		int st = in_filtered_child(forbidden[i].fn);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
		if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS))
			fprintf(stderr, "%s was not stopped (status %#x)\n", forbidden[i].what, st);
	}
	int st = in_filtered_child(do_run_loop_calls);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_hw_virt_detection(void)
{
	char why[256] = "";
	int hw = vmm_hw_virt_available(why, sizeof why);
	CHECK(why[0] != 0);
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		CHECK(!hw && strstr(why, "kvm-pvm"));
}

int main(void)
{
	RUN(test_loads_per_boot_protocol);
	RUN(test_refuses_hostile_kernels);
	RUN(test_seccomp_filter);
	RUN(test_hw_virt_detection);
	TEST_MAIN_END();
}
