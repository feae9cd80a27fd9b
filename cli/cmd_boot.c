/* cli/cmd_boot.c: `apkg boot`: boot an appliance image (or a kernel) with a serial console.
 *
 *   apkg boot IMAGE|OUTDIR [--vmm|--qemu] [--kernel K] [--initrd I] [--cmdline C]
 *             [--append A] [--disk IMG]... [--cpus N] [--mem M] [--timeout S] [--dump-acpi DIR]
 *
 * --vmm boots with apkg's own KVM micro-VMM (vmm/): the kernel, initrd and
 * command line come from the image's own loader entry on its ESP, unless
 * overridden, and the image is the first virtio disk. --qemu runs QEMU with
 * the image's firmware (SeaBIOS when the ESP has syslinux, else OVMF),
 * `-nographic -serial mon:stdio` and snapshot=on, under KVM with hardware
 * virtualization and TCG otherwise. The default is --vmm where hardware
 * virtualization exists, else --qemu. The artifact is never written.
 * Exit status: 0 when the guest powered off or reset, 1 on a timeout or a
 * failure, 2 on bad usage, 3 when /dev/kvm or QEMU is missing.
 */
#include "cli/cli.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"
#include "validate/boot_entry.h"
#include "vmm/layout.h"
#include "vmm/vmm.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DISKS VMM_MAX_VIRTIO

enum backend { BACKEND_DEFAULT, BACKEND_VMM, BACKEND_QEMU };

struct boot_opts {
	enum backend backend;
	const char *target;    /* IMAGE or OUTDIR */
	char *image;           /* the image resolved from target */
	const char *kernel, *initrd, *cmdline, *append, *dump_acpi;
	const char *disks[MAX_DISKS];
	unsigned n_disks;
	unsigned cpus;
	uint64_t mem;
	unsigned timeout_s;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: apkg boot IMAGE|OUTDIR [--vmm|--qemu] [options]\n"
		"       apkg boot --kernel K [--initrd I] [--cmdline C] [--disk IMG] [options]\n"
		"\n"
		"Boots an appliance with an interactive serial console (Ctrl-A x quits the VMM;\n"
		"QEMU's console uses Ctrl-A x too). The image is never modified.\n"
		"\n"
		"  --vmm            apkg's own KVM micro-VMM (default with hardware virtualization)\n"
		"  --qemu           QEMU: KVM with hardware virtualization, else TCG\n"
		"  --kernel K       boot this bzImage instead of the image's own kernel\n"
		"  --initrd I       with this initrd\n"
		"  --cmdline C      with this kernel command line instead of the image's\n"
		"  --append A       add A to the kernel command line\n"
		"  --disk IMG       one more virtio disk (repeatable; raw, copy-on-write)\n"
		"  --cpus N         vCPUs (default 1)\n"
		"  --mem M          guest memory, e.g. 512M or 2G (default 512M)\n"
		"  --timeout S      stop the guest after S seconds (exit status 1)\n"
		"  --dump-acpi DIR  write the VMM's ACPI tables to DIR (for iasl -d)\n");
}

/* "512", "512M", "512MiB", "2G": bytes; plain numbers are MiB. */
static int parse_mem(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	uint64_t unit = 1 << 20;
	if (*end == 'G' || *end == 'g')
		unit = 1ull << 30, end++;
	else if (*end == 'M' || *end == 'm')
		end++;
	if (!strcmp(end, "iB") || !strcmp(end, "B"))
		end += strlen(end);
	if (*end || v == 0 || v > (1ull << 40) / unit)
		return -1;
	*out = v * unit;
	return 0;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct boot_opts *o)
{
	enum { O_VMM = 256, O_QEMU, O_KERNEL, O_INITRD, O_CMDLINE, O_APPEND, O_DISK, O_CPUS, O_MEM, O_TIMEOUT, O_ACPI };
	static const struct option longopts[] = {
		{"vmm", no_argument, NULL, O_VMM},           {"qemu", no_argument, NULL, O_QEMU},
		{"kernel", required_argument, NULL, O_KERNEL}, {"initrd", required_argument, NULL, O_INITRD},
		{"cmdline", required_argument, NULL, O_CMDLINE}, {"append", required_argument, NULL, O_APPEND},
		{"disk", required_argument, NULL, O_DISK},     {"cpus", required_argument, NULL, O_CPUS},
		{"mem", required_argument, NULL, O_MEM},       {"timeout", required_argument, NULL, O_TIMEOUT},
		{"dump-acpi", required_argument, NULL, O_ACPI}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	o->cpus = 1;
	o->mem = 512ull << 20;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_VMM: o->backend = BACKEND_VMM; break;
		case O_QEMU: o->backend = BACKEND_QEMU; break;
		case O_KERNEL: o->kernel = optarg; break;
		case O_INITRD: o->initrd = optarg; break;
		case O_CMDLINE: o->cmdline = optarg; break;
		case O_APPEND: o->append = optarg; break;
		case O_ACPI: o->dump_acpi = optarg; break;
		case O_DISK:
			if (o->n_disks == MAX_DISKS)
				return error("at most %d disks", MAX_DISKS);
			o->disks[o->n_disks++] = optarg;
			break;
		case O_CPUS:
			if (parse_uint(optarg, VMM_MAX_CPUS, &o->cpus) < 0 || !o->cpus)
				return error("--cpus: a number from 1 to %d", VMM_MAX_CPUS);
			break;
		case O_MEM:
			if (parse_mem(optarg, &o->mem) < 0)
				return error("--mem: a size such as 512M or 2G");
			break;
		case O_TIMEOUT:
			if (parse_uint(optarg, 86400 * 365, &o->timeout_s) < 0)
				return error("--timeout: a number of seconds");
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind < argc)
		o->target = argv[optind++];
	if (optind < argc)
		return error("unexpected argument '%s'", argv[optind]);
	if (!o->target && !o->kernel)
		return error("give an image, an output directory, or --kernel");
	if (o->initrd && !o->kernel && !o->target)
		return error("--initrd needs --kernel");
	return 0;
}

static int image_rank(const char *name)
{
	static const char *const ext[] = {".raw", ".img", ".qcow2"};
	size_t n = strlen(name);
	for (int i = 0; i < 3; i++) {
		size_t e = strlen(ext[i]);
		if (n > e && !strcmp(name + n - e, ext[i]))
			return i;
	}
	return -1;
}

/* An output directory: its raw image first, else .img, else .qcow2; ties by name. */
static char *find_image_in(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		error_errno("cannot open %s", dir);
		return NULL;
	}
	char *best = NULL;
	int best_rank = 99;
	struct dirent *e;
	while ((e = readdir(d))) {
		int r = image_rank(e->d_name);
		if (r < 0 || r > best_rank || (r == best_rank && strcmp(e->d_name, best) > 0))
			continue;
		free(best);
		best = xstrdup(e->d_name);
		best_rank = r;
	}
	closedir(d);
	if (!best) {
		error("%s: no disk image (.raw, .img or .qcow2) in this directory", dir);
		return NULL;
	}
	char *path = path_join(dir, best);
	free(best);
	return path;
}

static int resolve_target(struct boot_opts *o)
{
	if (!o->target)
		return 0;
	if (!path_exists(o->target))
		return error("%s: no such file or directory", o->target);
	o->image = is_dir(o->target) ? find_image_in(o->target) : xstrdup(o->target);
	if (!o->image)
		return -1;
	if (is_dir(o->target))
		info("booting %s", o->image);
	return 0;
}

/* The image (if any) first, then the --disk images: the guest's disks in order. */
static unsigned all_disks(const struct boot_opts *o, const char **out)
{
	unsigned n = 0;
	if (o->image)
		out[n++] = o->image;
	for (unsigned i = 0; i < o->n_disks && n < MAX_DISKS; i++)
		out[n++] = o->disks[i];
	return n;
}

static char *full_cmdline(const char *base, const char *append)
{
	if (!append || !*append)
		return xstrdup(base ? base : "");
	if (!base || !*base)
		return xstrdup(append);
	return xasprintf("%s %s", base, append);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the micro-VMM ---- */

static int load_payloads(const struct boot_opts *o, struct appliance_boot *ab, char **cmdline)
{
	memset(ab, 0, sizeof *ab);
	strbuf_init(&ab->kernel);
	strbuf_init(&ab->initrd);
	const char *base_cmdline = NULL;
	if (!o->kernel) {
		if (appliance_boot_read(o->image, ab) < 0)
			return -1;
		info("%s: booting %s from %s (ESP PARTUUID %s)", o->image, ab->spec.linux_path, ab->source,
		     ab->esp_partuuid);
		base_cmdline = ab->cmdline;
	} else if (read_file(o->kernel, &ab->kernel, 256u << 20) < 0) {
		return -1;
	}
	if (o->initrd) {
		strbuf_reset(&ab->initrd);
		if (read_file(o->initrd, &ab->initrd, 1024u << 20) < 0)
			return -1;
	}
	*cmdline = full_cmdline(o->cmdline ? o->cmdline : base_cmdline, o->append);
	return 0;
}

static int boot_vmm(const struct boot_opts *o)
{
	char why[256];
	if (!vmm_kvm_available(why, sizeof why)) {
		error("--vmm: %s", why);
		return EXIT_MISSING_TOOL;
	}
	if (!vmm_hw_virt_available(why, sizeof why))
		warning("%s; under --vmm only tiny guests run in useful time", why);
	struct appliance_boot ab;
	char *cmdline = NULL;
	int code = EXIT_FAILED;
	if (load_payloads(o, &ab, &cmdline) == 0) {
		const char *disks[MAX_DISKS];
		unsigned n = all_disks(o, disks);
		struct vmm_config c = {
			.kernel = ab.kernel.buf, .kernel_size = ab.kernel.len,
			.initrd = ab.initrd.len ? ab.initrd.buf : NULL, .initrd_size = ab.initrd.len,
			.cmdline = cmdline, .disks = disks, .n_disks = n, .cpus = o->cpus, .mem_bytes = o->mem,
			.timeout_ms = o->timeout_s * 1000, .console_in = STDIN_FILENO, .console_out = STDOUT_FILENO,
			.dump_acpi_dir = o->dump_acpi,
		};
		struct vmm_stats st;
		enum vmm_end end = vmm_run(&c, &st);
		if (end == VMM_END_TIMEOUT)
			error("timed out after %u s", o->timeout_s);
		else if (end == VMM_END_ERROR)
			error("the VMM stopped with an error");
		else
			info("%s after %.2f s (setup %.1f ms)", vmm_end_describe(end), (double)st.run_ns / 1e9,
			     (double)st.setup_ns / 1e6);
		if (getenv("APKG_VMM_STATS"))
			fprintf(stderr,
				"vmm-stats setup_ns=%llu boot_timer_ns=%llu boot_timer_realtime_ns=%llu run_ns=%llu "
				"vmm_rss_kb=%llu guest_rss_kb=%llu exits=%llu\n",
				(unsigned long long)st.setup_ns, (unsigned long long)st.boot_timer_ns,
				(unsigned long long)st.boot_timer_realtime_ns, (unsigned long long)st.run_ns,
				(unsigned long long)st.vmm_rss_kb, (unsigned long long)st.guest_rss_kb,
				(unsigned long long)st.exits);
		code = vmm_end_is_clean(end) ? EXIT_OK : EXIT_FAILED;
	}
	appliance_boot_release(&ab);
	free(cmdline);
	return code;
}

/* ---- QEMU ---- */

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS.fd"

static int is_qcow2(const char *path)
{
	uint8_t m[4] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(m, 1, 4, f);
	fclose(f);
	return n == 4 && !memcmp(m, "QFI\xfb", 4);
}

struct qemu_argv {
	const char *arg[64];
	unsigned n;
	char *owned[16];  /* strings made for this run, freed after */
	unsigned n_owned;
};

static void push(struct qemu_argv *q, const char *a)
{
	if (q->n < 63)
		q->arg[q->n++] = a;
}

static void push_owned(struct qemu_argv *q, char *a)
{
	if (q->n_owned < 16)
		q->owned[q->n_owned++] = a;
	push(q, a);
}

static void qemu_argv_release(struct qemu_argv *q)
{
	for (unsigned i = 0; i < q->n_owned; i++)
		free(q->owned[i]);
}

/* Runs argv with the terminal shared, killing it after timeout_s; returns its exit status, -2 on timeout. */
static int run_interactive(const char *const *argv, unsigned timeout_s)
{
	pid_t pid = fork();
	if (pid < 0)
		return error_errno("fork");
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int status;
	for (;;) {
		pid_t r = waitpid(pid, &status, timeout_s ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return error_errno("waitpid");
		if (timeout_s && seconds_since(&t0) > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			error("timed out after %u s", timeout_s);
			return -2;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* UEFI firmware: OVMF's code read-only, a private copy of its variable store. */
static int add_ovmf(struct qemu_argv *q, char **vars_copy)
{
	if (!path_exists(OVMF_CODE) || !path_exists(OVMF_VARS))
		return error("the image boots by UEFI only and OVMF is missing (package ovmf)");
	const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	*vars_copy = xasprintf("%s/apkg-boot-vars-%d.fd", tmp, (int)getpid());
	if (copy_file_sparse(OVMF_VARS, *vars_copy, 0600) < 0)
		return -1;
	cleanup_register(*vars_copy);
	push(q, "-machine");
	push(q, "q35");
	push(q, "-drive");
	push_owned(q, xasprintf("if=pflash,format=raw,readonly=on,file=%s", OVMF_CODE));
	push(q, "-drive");
	push_owned(q, xasprintf("if=pflash,format=raw,file=%s", *vars_copy));
	return 0;
}

static void add_disks(struct qemu_argv *q, const struct boot_opts *o)
{
	const char *all[MAX_DISKS];
	unsigned n = all_disks(o, all);
	for (unsigned i = 0; i < n; i++) {
		push(q, "-drive");
		push_owned(q, xasprintf("file=%s,format=%s,if=virtio,snapshot=on", all[i],
					is_qcow2(all[i]) ? "qcow2" : "raw"));
	}
}

static void add_kernel(struct qemu_argv *q, const struct boot_opts *o)
{
	push(q, "-kernel");
	push(q, o->kernel);
	if (o->initrd) {
		push(q, "-initrd");
		push(q, o->initrd);
	}
	char *cmdline = full_cmdline(o->cmdline, o->append);
	push(q, "-append");
	push_owned(q, cmdline);
}

static int boot_qemu(const struct boot_opts *o)
{
	require_tool("qemu-system-x86_64", "qemu-system-x86");
	char why[256];
	int kvm = vmm_hw_virt_available(why, sizeof why);
	if (!kvm)
		info("QEMU under TCG (%s)", why);
	struct qemu_argv q = {.n = 0};
	char *vars_copy = NULL;
	push(&q, "qemu-system-x86_64");
	push(&q, "-accel");
	push(&q, kvm ? "kvm" : "tcg");
	push(&q, "-m");
	push_owned(&q, xasprintf("%llu", (unsigned long long)(o->mem >> 20)));
	push(&q, "-smp");
	push_owned(&q, xasprintf("%u", o->cpus));
	push(&q, "-nographic");
	push(&q, "-serial");
	push(&q, "mon:stdio");
	push(&q, "-no-reboot"); /* a guest reset ends QEMU, as it ends the VMM */
	int r = 0;
	if (o->kernel) {
		add_kernel(&q, o);
	} else if (o->append || o->cmdline) {
		warning("--cmdline and --append need --kernel with --qemu: the image's boot loader decides");
	}
	if (!o->kernel && appliance_firmware(o->image) == APPLIANCE_UEFI_ONLY)
		r = add_ovmf(&q, &vars_copy);
	add_disks(&q, o);
	push(&q, NULL);
	if (r == 0)
		r = run_interactive(q.arg, o->timeout_s);
	if (vars_copy) {
		unlink(vars_copy);
		cleanup_unregister(vars_copy);
		free(vars_copy);
	}
	qemu_argv_release(&q);
	if (r == 127) {
		error("cannot run qemu-system-x86_64");
		return EXIT_MISSING_TOOL;
	}
	return r == 0 ? EXIT_OK : EXIT_FAILED;
}

int cmd_boot(int argc, char **argv)
{
	struct boot_opts o;
	memset(&o, 0, sizeof o);
	if (parse_args(argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (resolve_target(&o) < 0)
		return EXIT_USAGE;
	enum backend b = o.backend;
	if (b == BACKEND_DEFAULT) {
		char why[256];
		b = vmm_hw_virt_available(why, sizeof why) ? BACKEND_VMM : BACKEND_QEMU;
	}
	if (b == BACKEND_QEMU && o.dump_acpi)
		warning("--dump-acpi applies to --vmm only");
	int code = b == BACKEND_VMM ? boot_vmm(&o) : boot_qemu(&o);
	free(o.image);
	return code;
}
