/* tests/unit/test_validate.c: the host side of apkg test without QEMU:
 * boot_judge() decisions, manifest.json loading and the splice that writes
 * "validation" back, and the QEMU command line of every target (TCG only,
 * snapshot=on, the fw_cfg check flag, the right disk controller). */
#include "tests/unit/test.h"
#include "util/io.h"
#include "util/json.h"
#include "util/strbuf.h"
#include "validate/boot.h"
#include "validate/manifest.h"
#include "validate/report.h"
#include "validate/targets.h"

#include <stdlib.h>
#include <unistd.h>

static const char *const expected[] = {"tcp 80", "http http://127.0.0.1/", "service nginx"};

/* Judges a boot whose console printed `text`. */
static struct target_result judge(const char *text, int timed_out, int exited, int status, size_t n_expected)
{
	struct boot_outcome o;
	memset(&o, 0, sizeof o);
	console_init(&o.console);
	console_feed(&o.console, text, strlen(text));
	console_finish(&o.console);
	o.timed_out = timed_out;
	o.exited = exited;
	o.exit_status = status;
	o.seconds = 7.5;
	o.qemu_stderr = xstrdup(status == 1 ? "qemu-system-x86_64: -drive file=x: Could not open 'x'\nmore\n" : "");
	struct report r = {0};
	struct target_result *t = report_add(&r, "qemu-bios", "a.qcow2");
	struct expected_checks want = {expected, n_expected, n_expected ? (long)n_expected : -1};
	boot_judge(&o, 120, &want, t);
	boot_outcome_free(&o);
	struct target_result copy = *t;
	free(r.results);
	return copy;
}

static void release(struct target_result *t)
{
	struct report r = {.results = t, .n = 1};
	struct target_result *heap = xmalloc(sizeof *heap);
	*heap = *t;
	r.results = heap;
	report_free(&r);
}

#define PROBE "APKG-PROBE {\"checks\":3,\"deadline_s\":85}\n"
#define OK(name) "APKG-CHECK {\"check\":\"" name "\",\"ok\":true,\"detail\":\"fine\",\"ms\":5}\n"
#define BAD(name) "APKG-CHECK {\"check\":\"" name "\",\"ok\":false,\"detail\":\"refused\",\"ms\":5}\n"

static void test_judge_pass(void)
{
	struct target_result t = judge(PROBE OK("tcp 80") OK("service nginx") OK("http http://127.0.0.1/")
				       "APKG-RESULT {\"passed\":3,\"failed\":0}\n", 0, 1, 0, 3);
	CHECK(t.status == RESULT_PASS && t.reason == NULL);
	CHECK(t.n_checks == 3 && t.seconds == 7.5);
	CHECK(strstr(t.console, "APKG-RESULT") != NULL);
	release(&t);
}

static void test_judge_failed_check(void)
{
	struct target_result t = judge(PROBE OK("tcp 80") OK("service nginx") BAD("http http://127.0.0.1/")
				       "APKG-RESULT {\"passed\":2,\"failed\":1}\n", 0, 1, 0, 3);
	CHECK(t.status == RESULT_FAIL);
	CHECK_STR(t.reason, "1 of 3 checks failed: http http://127.0.0.1/");
	release(&t);
}

static void test_judge_missing_and_mismatch(void)
{
	struct target_result t = judge(PROBE OK("tcp 80") "APKG-RESULT {\"passed\":1,\"failed\":0}\n", 0, 1, 0, 3);
	CHECK(t.status == RESULT_FAIL && t.n_checks == 3);
	CHECK_STR(t.reason, "2 checks of the recipe never reported by the probe (an old image?)");
	CHECK(t.n_checks == 3 && !t.checks[1].ran && !t.checks[2].ran);
	release(&t);
	t = judge(PROBE OK("tcp 80") "APKG-RESULT {\"passed\":2,\"failed\":0}\n", 0, 1, 0, 0);
	CHECK(t.status == RESULT_FAIL && strstr(t.reason, "reported 2 passed checks but printed 1"));
	release(&t);
	t = judge(PROBE OK("tcp 80") "APKG-RESULT {\"passed\":1,\"failed\":0}\n", 0, 1, 0, 0);
	CHECK(t.status == RESULT_FAIL && strstr(t.reason, "the probe announced 3 checks but reported 1"));
	release(&t);
	t = judge(PROBE "APKG-RESULT {\"passed\":0,\"failed\":1}\n", 0, 1, 0, 0);
	CHECK(t.status == RESULT_FAIL && strstr(t.reason, "reported 1 failed checks but printed none"));
	release(&t);
}

static void test_judge_no_result(void)
{
	struct target_result t = judge("[ 2.0] Kernel panic - not syncing: VFS: Unable to mount root fs\n", 0, 0, 0, 3);
	CHECK_STR(t.reason, "kernel panic: Kernel panic - not syncing: VFS: Unable to mount root fs");
	CHECK(t.n_checks == 3 && !t.checks[0].ran);
	release(&t);
	t = judge("APKG-INITRAMFS-ERROR: no root device\n", 0, 1, 0, 0);
	CHECK_STR(t.reason, "initramfs error: no root device");
	release(&t);
	t = judge("booting...\n", 1, 0, 0, 0);
	CHECK_STR(t.reason, "no result within the 120 s deadline: the boot never reached the probe (hung, or no "
			    "apkg.check flag?)");
	release(&t);
	t = judge(PROBE OK("tcp 80"), 1, 0, 0, 0);
	CHECK_STR(t.reason, "no result within the 120 s deadline: the probe was still running its checks");
	CHECK(t.n_checks == 1 && t.checks[0].ran && t.checks[0].ok);
	release(&t);
	t = judge("", 0, 1, 1, 0);
	CHECK_STR(t.reason, "QEMU failed (exit status 1): qemu-system-x86_64: -drive file=x: Could not open 'x'");
	release(&t);
	t = judge("reboot: Power down\n", 0, 1, 0, 0);
	CHECK_STR(t.reason, "the machine stopped before the probe reported (powered off or rebooted)");
	CHECK(strstr(t.console_tail, "reboot: Power down\n") != NULL);
	release(&t);
}

static char *write_tmp(const char *text)
{
	char tmpl[] = "/tmp/apkg-test-manifest-XXXXXX";
	char *dir = xstrdup(mkdtemp(tmpl));
	char *path = path_join(dir, "manifest.json");
	write_file_atomic(path, text, strlen(text), 0644);
	free(dir);
	return path;
}

static void remove_tmp(char *path)
{
	unlink(path);
	*strrchr(path, '/') = 0;
	rmdir(path);
	free(path);
}

static const char manifest_text[] =
	"{\n  \"apkg_manifest\": 1,\n  \"name\": \"web\",\n  \"version\": \"1.0\",\n"
	"  \"targets\": [\"qemu-bios\", \"vmm\"],\n  \"check_deadline\": 300,\n"
	"  \"hardware\": {\"cpus\": 2, \"memory\": 1073741824, \"nic\": \"virtio\"},\n"
	"  \"disk\": {\"boot\": \"uefi\"},\n"
	"  \"kernel\": {\"package\": \"linux-image-cloud-amd64\", \"drivers\": {\"ahci\": \"missing\"}},\n"
	"  \"artifacts\": [{\"file\": \"web-1.0.qcow2\", \"format\": \"qcow2\", \"size\": 5000000000, \"sha256\": \"ab\"}],\n"
	"  \"validation\": [ {\"old\": true} ],\n  \"tail\": \"kept\"\n}\n";

static void test_manifest_load(void)
{
	char *path = write_tmp(manifest_text);
	struct manifest m;
	CHECK(manifest_load(path, &m) == 0);
	CHECK_STR(m.name, "web");
	CHECK(m.check_deadline_s == 300 && m.cpus == 2 && m.memory == (1u << 30));
	CHECK_STR(m.nic, "virtio");
	CHECK_STR(m.boot, "uefi");
	CHECK_STR(m.kernel_package, "linux-image-cloud-amd64");
	CHECK_STR(manifest_driver_state(&m, "ahci"), "missing");
	CHECK(manifest_driver_state(&m, "nvme") == NULL);
	CHECK(m.n_artifacts == 1 && m.artifacts[0].size == 5000000000ull);
	CHECK(m.n_targets == 2 && !strcmp(m.targets[1], "vmm"));
	CHECK(m.n_checks == 0 && m.checks_count == -1);
	manifest_free(&m);
	remove_tmp(path);
}

static void test_manifest_rejects(void)
{
	const char *bad[] = {
		"{\"name\": \"x\"}",
		"{\"name\": \"x\", \"version\": \"1\"}",
		"{\"name\": \"x\", \"version\": \"1\", \"artifacts\": [{\"file\": \"../x\", \"format\": \"raw\"}]}",
		"{\"name\": \"x\", \"version\": \"1\", \"artifacts\": [], \"targets\": [1]}",
		"[1]",
		"{\"name\": \"x\",",
	};
	fprintf(stderr, "(six manifest errors are expected next)\n");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *path = write_tmp(bad[i]);
		struct manifest m;
		CHECK(manifest_load(path, &m) < 0);
		remove_tmp(path);
	}
}

static void test_manifest_splice(void)
{
	char *path = write_tmp(manifest_text);
	CHECK(manifest_set_validation(path, "[\n    {\"target\":\"qemu-bios\"}\n  ]") == 0);
	struct strbuf sb = STRBUF_INIT;
	read_file(path, &sb, 1 << 20);
	const char *at = strstr(manifest_text, "[ {\"old\": true} ]");
	size_t head = (size_t)(at - manifest_text);
	CHECK(sb.len > head && !memcmp(sb.buf, manifest_text, head)); /* bytes before: untouched */
	CHECK(strstr(sb.buf, "\"validation\": [\n    {\"target\":\"qemu-bios\"}\n  ],\n  \"tail\": \"kept\"\n}\n") != NULL);
	strbuf_release(&sb);
	remove_tmp(path);

	/* no "validation" yet: it is added before the closing brace */
	path = write_tmp("{\n  \"name\": \"a\"\n}\n");
	CHECK(manifest_set_validation(path, "[]") == 0);
	read_file(path, &sb, 1 << 20);
	CHECK_STR(sb.buf, "{\n  \"name\": \"a\",\n  \"validation\": []\n}\n");
	struct json_value *v = json_parse(sb.buf, sb.len, NULL);
	CHECK(v && json_get_array(v, "validation"));
	json_free(v);
	strbuf_release(&sb);
	remove_tmp(path);
}

static int has_arg(char **argv, const char *s)
{
	for (; *argv; argv++)
		if (strstr(*argv, s))
			return 1;
	return 0;
}

static void test_qemu_argv(void)
{
	for (size_t i = 0; i < target_count(); i++) {
		const struct target *t = target_at(i);
		if (t->skip)
			continue;
		struct qemu_setup s = {.target = t, .disk_path = "/out/a,b.qcow2", .disk_format = "qcow2",
				       .ovmf_code = "/usr/share/OVMF/OVMF_CODE_4M.fd", .ovmf_vars = "/tmp/x/VARS.fd",
				       .memory_mib = 512, .cpus = 1, .recipe_nic = "virtio",
				       .fw_cfg_cmdline = "apkg.check=1 apkg.deadline=120"};
		char **argv = qemu_argv("/usr/bin/qemu-system-x86_64", &s);
		CHECK(has_arg(argv, "tcg") && !has_arg(argv, "kvm"));
		CHECK(has_arg(argv, "file=/out/a,,b.qcow2,format=qcow2,if=none,id=disk0,snapshot=on"));
		CHECK(has_arg(argv, "name=opt/org.apkg/cmdline,string=apkg.check=1 apkg.deadline=120"));
		CHECK(has_arg(argv, "-no-reboot") && has_arg(argv, "-nodefaults"));
		CHECK(has_arg(argv, "restrict=on"));
		CHECK(has_arg(argv, "if=pflash") == t->uefi);
		if (!strcmp(t->name, "qemu-uefi"))
			CHECK(has_arg(argv, "virtio-blk-pci,drive=disk0") && has_arg(argv, "virtio-net-pci,"));
		if (!strcmp(t->name, "virtualbox"))
			CHECK(has_arg(argv, "ahci,id=sata0") && has_arg(argv, "e1000,netdev") &&
			      has_arg(argv, "product=VirtualBox"));
		if (!strcmp(t->name, "vmware"))
			CHECK(has_arg(argv, "pvscsi,id=scsi0") && has_arg(argv, "vmxnet3,netdev") &&
			      has_arg(argv, "VMware,, Inc."));
		if (!strcmp(t->name, "vmware-efi"))
			CHECK(has_arg(argv, "nvme,drive=disk0"));
		if (!strcmp(t->name, "hyperv"))
			CHECK(has_arg(argv, "ide-hd,drive=disk0,bus=ide.0") && t->approximation);
		argv_free(argv);
	}
	/* vmm is a real target: it boots on the micro-VMM, skipped only without hardware virtualization. */
	CHECK(target_find("vmm") && TARGET_IS_VMM(target_find("vmm")) && !target_find("vmm")->skip);
	CHECK(target_find("nope") == NULL);
	CHECK(strstr(target_names(), "qemu-bios, qemu-uefi") == target_names());
}

int main(void)
{
	RUN(test_judge_pass);
	RUN(test_judge_failed_check);
	RUN(test_judge_missing_and_mismatch);
	RUN(test_judge_no_result);
	RUN(test_manifest_load);
	RUN(test_manifest_rejects);
	RUN(test_manifest_splice);
	RUN(test_qemu_argv);
	TEST_MAIN_END();
}
