/* validate/validate.c: plans, runs (in parallel) and reports the boots of
 * one output directory. See validate.h. */
#include "validate/validate.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/progress.h"
#include "util/sha256.h"
#include "util/strbuf.h"
#include "validate/artifact.h"
#include "validate/boot.h"
#include "validate/manifest.h"
#include "validate/report.h"
#include "validate/targets.h"
#include "validate/vmm_target.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QEMU "qemu-system-x86_64"

struct job {
	const struct target *target;
	struct chosen_artifact art;
	size_t result;          /* index in the report */
	int planned;            /* it boots (not failed or skipped while planning) */
};

struct run {
	const char *outdir;
	const struct validate_opts *o;
	struct manifest m;
	struct report report;
	struct job *jobs;
	size_t n_jobs, next;
	char *scratch, *qemu;
	const char *ovmf_code, *ovmf_vars;
	int deadline_s;
	FILE *lines;            /* where the per-result lines go */
	int color;
	pthread_mutex_t lock;
};

static void set_reason(struct target_result *t, enum result_status s, char *reason)
{
	t->status = s;
	free(t->reason);
	t->reason = reason;
}

/* Splits the comma list into targets; unknown names are a usage error. */
static int parse_targets(struct run *run, const char *list)
{
	char *copy = xstrdup(list), *save = NULL;
	int ret = 0;
	for (char *name = strtok_r(copy, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
		const struct target *t = target_find(name);
		if (!t) {
			ret = error("unknown target '%s' (known: %s)", name, target_names());
			continue;
		}
		run->jobs = xrealloc(run->jobs, (run->n_jobs + 1) * sizeof *run->jobs);
		run->jobs[run->n_jobs++] = (struct job){.target = t};
	}
	free(copy);
	if (ret == 0 && !run->n_jobs)
		ret = error("no targets to test");
	return ret;
}

static char *default_target_list(const struct manifest *m)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < m->n_targets; i++)
		strbuf_addf(&sb, "%s%s", i ? "," : "", m->targets[i]);
	if (!sb.len)
		strbuf_adds(&sb, "vmm,qemu-uefi"); /* the recipe language's default */
	return strbuf_detach(&sb);
}

/* The absolute path of a tool in PATH, or NULL. */
static char *which(const char *tool)
{
	const char *path = getenv("PATH");
	char *copy = xstrdup(path ? path : "/usr/bin:/bin"), *save = NULL, *found = NULL;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = path_join(d, tool);
		if (access(p, X_OK) == 0 && p[0] == '/')
			found = p;
		else
			free(p);
	}
	free(copy);
	return found;
}

static int find_tools(struct run *run)
{
	int need_qemu = 0, need_ovmf = 0;
	for (size_t i = 0; i < run->n_jobs; i++) {
		need_qemu |= !run->jobs[i].target->skip && !TARGET_IS_VMM(run->jobs[i].target);
		need_ovmf |= !run->jobs[i].target->skip && run->jobs[i].target->uefi;
	}
	if (need_qemu && !(run->qemu = which(QEMU))) {
		error("required tool '%s' not found (install the Debian package 'qemu-system-x86', or run 'make deps')",
		      QEMU);
		return EXIT_MISSING_TOOL;
	}
	if (need_ovmf && ovmf_find(&run->ovmf_code, &run->ovmf_vars) < 0) {
		error("UEFI firmware not found in /usr/share/OVMF (install the Debian package 'ovmf', or run 'make deps')");
		return EXIT_MISSING_TOOL;
	}
	return 0;
}

/* A target the image's boot mode cannot reach, or NULL. */
static char *firmware_mismatch(const struct manifest *m, const struct target *t)
{
	if (t->uefi && !strcmp(m->boot, "bios"))
		return xasprintf("%s boots with UEFI but the image was built with disk.boot: bios", t->name);
	if (!t->uefi && t->disk != DISK_NONE && !TARGET_IS_VMM(t) && !strcmp(m->boot, "uefi"))
		return xasprintf("%s boots with BIOS but the image was built with disk.boot: uefi", t->name);
	return NULL;
}

/* Fails fast when the kernel lacks a driver the target needs. Drivers the
 * manifest does not list are noted, not failed. */
static char *missing_driver(const struct manifest *m, const struct target *t, struct strbuf *unlisted)
{
	const char *needed[6] = {TARGET_CONSOLE_DRIVER};
	size_t n = 1;
	for (size_t i = 0; i < 4 && t->drivers[i]; i++)
		needed[n++] = t->drivers[i];
	for (size_t i = 0; i < n; i++) {
		const char *state = manifest_driver_state(m, needed[i]);
		if (!state) {
			strbuf_addf(unlisted, "%s%s", unlisted->len ? ", " : "", needed[i]);
			continue;
		}
		if (!strcmp(state, "builtin") || !strcmp(state, "initramfs"))
			continue;
		if (strcmp(m->kernel_package, "linux-image-amd64"))
			return xasprintf("the kernel (%s) has no %s driver, which %s needs for its %s; the Debian "
					 "package linux-image-amd64 has it",
					 m->kernel_package, needed[i], t->name, i ? "disk" : "serial console");
		return xasprintf("the initramfs lacks the %s driver, which %s needs for its %s (kernel %s)", needed[i],
				 t->name, i ? "disk" : "serial console", m->kernel_package);
	}
	return NULL;
}

/* A result decided without booting: the recipe's checks did not run. */
static void add_unrun_checks(const struct run *run, struct target_result *r)
{
	for (size_t c = 0; c < run->m.n_checks; c++)
		report_add_check(r, run->m.checks[c], 0, 0, NULL, 0);
}

static void plan_one(struct run *run, struct job *j)
{
	const struct target *t = j->target;
	struct target_result *r = &run->report.results[j->result];
	char *why = NULL;
	if (t->skip) {
		set_reason(r, RESULT_SKIP, xstrdup(t->skip));
		return;
	}
	char hw[256];
	if (TARGET_IS_VMM(t) && !vmm_target_usable(hw, sizeof hw)) {
		set_reason(r, run->o->require_kvm ? RESULT_FAIL : RESULT_SKIP,
			   xasprintf("no hardware virtualization for the micro-VMM: %s", hw));
		return;
	}
	if ((why = firmware_mismatch(&run->m, t))) {
		set_reason(r, RESULT_FAIL, why);
		return;
	}
	if (artifact_choose(&run->m, t, run->outdir, run->scratch, &j->art, &why) < 0) {
		set_reason(r, RESULT_FAIL, why);
		return;
	}
	free(r->artifact);
	free(r->format);
	r->artifact = xstrdup(j->art.shipped->file);
	r->format = xstrdup(j->art.format);
	r->note = j->art.note ? xstrdup(j->art.note) : NULL;
	struct strbuf unlisted = STRBUF_INIT;
	if ((why = missing_driver(&run->m, t, &unlisted))) {
		set_reason(r, RESULT_FAIL, why);
		free(r->note); /* nothing was booted */
		r->note = NULL;
	} else {
		if (unlisted.len) {
			char *note = xasprintf("%s%smanifest.json does not say whether the kernel has %s", r->note ? r->note : "",
					       r->note ? "; " : "", unlisted.buf);
			free(r->note);
			r->note = note;
		}
		j->planned = 1;
	}
	strbuf_release(&unlisted);
}

/* sha256 of every artifact that will be booted, in manifest order. */
static void hash_artifacts(struct run *run, char (*hex)[65])
{
	for (size_t i = 0; i < run->m.n_artifacts; i++) {
		hex[i][0] = 0;
		for (size_t j = 0; j < run->n_jobs; j++)
			if (run->jobs[j].planned && run->jobs[j].art.shipped == &run->m.artifacts[i]) {
				char *path = path_join(run->outdir, run->m.artifacts[i].file);
				if (sha256_file_hex(path, hex[i]) < 0)
					hex[i][0] = 0;
				free(path);
				break;
			}
	}
}

/* Fails the jobs whose artifact does not match the manifest before booting. */
static void check_hashes_before(struct run *run, char (*hex)[65])
{
	for (size_t j = 0; j < run->n_jobs; j++) {
		struct job *job = &run->jobs[j];
		if (!job->planned)
			continue;
		size_t i = (size_t)(job->art.shipped - run->m.artifacts);
		const char *want = job->art.shipped->sha256;
		char *why = NULL;
		if (!hex[i][0])
			why = xasprintf("cannot read %s", job->art.shipped->file);
		else if (want && strcmp(want, hex[i]))
			why = xasprintf("%s does not match manifest.json (sha256 %.12s..., recorded %.12s...): changed "
					"since apkg build?", job->art.shipped->file, hex[i], want);
		if (why) {
			set_reason(&run->report.results[job->result], RESULT_FAIL, why);
			add_unrun_checks(run, &run->report.results[job->result]);
			report_print_result(run->lines, &run->report.results[job->result], run->report.appliance, run->color);
			job->planned = 0;
		}
	}
}

static void check_hashes_after(struct run *run, char (*before)[65])
{
	char(*after)[65] = xcalloc(run->m.n_artifacts ? run->m.n_artifacts : 1, sizeof *after);
	hash_artifacts(run, after);
	for (size_t j = 0; j < run->n_jobs; j++) {
		struct job *job = &run->jobs[j];
		if (!job->planned)
			continue;
		size_t i = (size_t)(job->art.shipped - run->m.artifacts);
		if (!strcmp(before[i], after[i]))
			continue;
		set_reason(&run->report.results[job->result], RESULT_FAIL,
			   xasprintf("testing changed %s (sha256 %.12s... before, %.12s... after)", job->art.shipped->file,
				     before[i], after[i]));
		report_print_result(run->lines, &run->report.results[job->result], run->report.appliance, run->color);
	}
	free(after);
}

/* The vmm target: the check flag goes on the kernel command line (no fw_cfg). */
static void boot_vmm_job(struct run *run, struct job *j, struct target_result *r)
{
	char *check = xasprintf("apkg.check=1 apkg.deadline=%d", run->deadline_s);
	struct vmm_target_run vr = {j->art.boot_path, check, run->deadline_s, run->m.memory, run->m.cpus};
	struct boot_outcome o;
	char *why = NULL;
	if (vmm_target_boot(&vr, &o, &why) < 0) {
		set_reason(r, RESULT_FAIL, why);
		add_unrun_checks(run, r);
	} else {
		struct expected_checks want = {run->m.checks, run->m.n_checks, run->m.checks_count};
		boot_judge(&o, run->deadline_s, &want, r);
		if (r->status == RESULT_FAIL && !o.console.got_result && o.qemu_stderr)
			set_reason(r, RESULT_FAIL, xstrdup(o.qemu_stderr));
		boot_outcome_free(&o);
	}
	free(check);
}

static void boot_job(struct run *run, struct job *j, size_t index)
{
	if (TARGET_IS_VMM(j->target)) {
		boot_vmm_job(run, j, &run->report.results[j->result]);
		return;
	}
	struct target_result *r = &run->report.results[j->result];
	char *work = xasprintf("%s/%zu-%s", run->scratch, index, j->target->name);
	char *vars = xasprintf("%s/OVMF_VARS.fd", work);
	/* the probe must report before our deadline: give it 9/10 of it, by the clock */
	int reserve = run->deadline_s / 10 > 3 ? run->deadline_s / 10 : 3;
	char *fwcfg = xasprintf("apkg.check=1 apkg.deadline=%d apkg.deadline_at=%lld", run->deadline_s,
				(long long)time(NULL) + run->deadline_s - reserve);
	struct qemu_setup s = {
		.target = j->target, .disk_path = j->art.boot_path, .disk_format = j->art.qemu_format,
		.ovmf_code = run->ovmf_code, .ovmf_vars = vars, .memory_mib = run->m.memory >> 20,
		.cpus = run->m.cpus, .recipe_nic = run->m.nic, .fw_cfg_cmdline = fwcfg,
	};
	char **argv = NULL;
	struct boot_outcome o;
	if (mkdir_p(work, 0700) < 0 || (j->target->uefi && copy_file_sparse(run->ovmf_vars, vars, 0600) < 0)) {
		set_reason(r, RESULT_FAIL, xasprintf("cannot prepare the scratch directory %s", work));
		add_unrun_checks(run, r);
	} else if (argv = qemu_argv(run->qemu, &s), boot_run(argv, work, run->deadline_s, &o) < 0) {
		set_reason(r, RESULT_FAIL, xstrdup("QEMU could not be started"));
		add_unrun_checks(run, r);
	} else {
		struct expected_checks want = {run->m.checks, run->m.n_checks, run->m.checks_count};
		boot_judge(&o, run->deadline_s, &want, r);
		boot_outcome_free(&o);
	}
	argv_free(argv);
	rm_rf(work);
	free(work);
	free(vars);
	free(fwcfg);
}

static void *worker(void *arg)
{
	struct run *run = arg;
	for (;;) {
		pthread_mutex_lock(&run->lock);
		size_t i = run->next;
		while (i < run->n_jobs && !run->jobs[i].planned)
			i++;
		run->next = i + 1;
		pthread_mutex_unlock(&run->lock);
		if (i >= run->n_jobs)
			return NULL;
		boot_job(run, &run->jobs[i], i);
		pthread_mutex_lock(&run->lock);
		report_print_result(run->lines, &run->report.results[run->jobs[i].result], run->report.appliance,
				    run->color);
		fflush(run->lines);
		pthread_mutex_unlock(&run->lock);
	}
}

static void run_jobs(struct run *run, int jobs)
{
	size_t planned = 0;
	for (size_t i = 0; i < run->n_jobs; i++)
		planned += run->jobs[i].planned;
	if (jobs <= 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = cpus > 0 ? (int)cpus : 1;
	}
	if ((size_t)jobs > planned)
		jobs = (int)planned;
	if (!planned)
		return;
	progress_stage("testing %s: %zu boot%s, %d at a time, deadline %d s each", run->report.appliance, planned,
		       planned == 1 ? "" : "s", jobs, run->deadline_s);
	pthread_t *threads = xcalloc(jobs > 0 ? (size_t)jobs : 1, sizeof *threads);
	int started = 0;
	for (int i = 0; i < jobs; i++)
		started += pthread_create(&threads[started], NULL, worker, run) == 0;
	if (!started && planned)
		worker(run);
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
}

static int write_reports(struct run *run)
{
	int ret = 0;
	struct strbuf sb = STRBUF_INIT;
	if (run->o->json) {
		report_json(&run->report, &sb);
		fputs(sb.buf, stdout);
		fflush(stdout);
		strbuf_reset(&sb);
	}
	if (run->o->junit_path && report_write_junit(&run->report, run->o->junit_path) < 0)
		ret = -1;
	report_json_results(&run->report, &sb, 0, 2, 1);
	char *manifest = path_join(run->outdir, "manifest.json");
	if (manifest_set_validation(manifest, sb.buf) < 0) /* e.g. a read-only output directory */
		warning("the results were not recorded in %s", manifest);
	free(manifest);
	strbuf_release(&sb);
	return ret;
}

static void plan_all(struct run *run)
{
	for (size_t i = 0; i < run->n_jobs; i++) {
		run->jobs[i].result = i;
		report_add(&run->report, run->jobs[i].target->name, "");
	}
	for (size_t i = 0; i < run->n_jobs; i++)
		plan_one(run, &run->jobs[i]);
	/* results decided while planning are shown first, their checks not run */
	for (size_t i = 0; i < run->n_jobs; i++) {
		if (run->jobs[i].planned)
			continue;
		add_unrun_checks(run, &run->report.results[i]);
		report_print_result(run->lines, &run->report.results[i], run->report.appliance, run->color);
	}
}

static void test_planned(struct run *run)
{
	char(*before)[65] = xcalloc(run->m.n_artifacts ? run->m.n_artifacts : 1, sizeof *before);
	hash_artifacts(run, before);
	check_hashes_before(run, before);
	run_jobs(run, run->o->jobs);
	check_hashes_after(run, before);
	free(before);
}

static int exit_code(const struct run *run)
{
	size_t passed, failed, skipped;
	report_count(&run->report, &passed, &failed, &skipped);
	report_print_summary(run->lines, &run->report, run->color);
	return failed || (run->o->strict && skipped) ? EXIT_FAILED : EXIT_OK;
}

static int setup(struct run *run, const char *outdir, const struct validate_opts *o)
{
	char *manifest = path_join(outdir, "manifest.json");
	int r = manifest_load(manifest, &run->m);
	free(manifest);
	if (r < 0)
		return error("%s is not a usable apkg output directory", outdir), EXIT_USAGE;
	run->report.appliance = xasprintf("%s-%s", run->m.name, run->m.version);
	run->deadline_s = o->deadline_s > 0 ? o->deadline_s : run->m.check_deadline_s;
	char *list = o->targets ? xstrdup(o->targets) : default_target_list(&run->m);
	r = parse_targets(run, list);
	free(list);
	if (r < 0)
		return EXIT_USAGE;
	if ((r = find_tools(run)))
		return r;
	const char *tmp = getenv("TMPDIR");
	char *tmpl = xasprintf("%s/apkg-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpl)) {
		error_errno("cannot create a scratch directory in %s", tmp && *tmp ? tmp : "/tmp");
		free(tmpl);
		return EXIT_FAILED;
	}
	run->scratch = tmpl;
	cleanup_register(run->scratch);
	boot_install_signal_handlers();
	return 0;
}

static void teardown(struct run *run)
{
	if (run->scratch) {
		rm_rf(run->scratch);
		cleanup_unregister(run->scratch);
	}
	for (size_t i = 0; i < run->n_jobs; i++)
		chosen_artifact_free(&run->jobs[i].art);
	free(run->jobs);
	free(run->scratch);
	free(run->qemu);
	report_free(&run->report);
	manifest_free(&run->m);
	pthread_mutex_destroy(&run->lock);
}

int validate_outdir(const char *outdir, const struct validate_opts *opts)
{
	struct run run = {.outdir = outdir, .o = opts, .lines = opts->json ? stderr : stdout};
	run.color = isatty(fileno(run.lines)) && !getenv("NO_COLOR");
	pthread_mutex_init(&run.lock, NULL);
	int code = setup(&run, outdir, opts);
	if (code == 0) {
		plan_all(&run);
		test_planned(&run);
		code = exit_code(&run);
		if (write_reports(&run) < 0)
			code = EXIT_FAILED;
	}
	teardown(&run);
	return code;
}
