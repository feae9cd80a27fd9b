/* builder/esp.c: mkfs.fat + mtools + syslinux on an image file (boot.md steps 2-4). */
#include "builder/esp.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static int file_size(const char *path, uint64_t *size)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return error_errno("cannot stat %s", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

int esp_size_needed(const struct esp_inputs *in, uint64_t *size)
{
	uint64_t k, i;
	if (file_size(in->vmlinuz, &k) < 0 || file_size(in->initrd, &i) < 0)
		return -1;
	/* Room for the loaders (under 1 MiB together), FAT overhead, and a
	 * kernel update of similar size written beside the old one. */
	uint64_t need = (k + i) * 2 + 4 * MiB;
	uint64_t mib = (need + MiB - 1) / MiB;
	if (mib < 32)
		mib = 32;
	*size = mib * MiB;
	return 0;
}

/* mtools stamps files with their source mtime (-m) and directories with
 * SOURCE_DATE_EPOCH; stage copies so the host files keep their times. */
static int stage_file(const char *src, const char *dst, uint64_t epoch)
{
	if (copy_file_sparse(src, dst, 0644) < 0)
		return -1;
	struct timeval tv[2] = {{.tv_sec = (time_t)epoch}, {.tv_sec = (time_t)epoch}};
	if (utimes(dst, tv) < 0)
		return error_errno("utimes %s", dst);
	return 0;
}

static int stage_text(const char *path, const char *text, uint64_t epoch)
{
	if (write_file_atomic(path, text, strlen(text), 0644) < 0)
		return -1;
	struct timeval tv[2] = {{.tv_sec = (time_t)epoch}, {.tv_sec = (time_t)epoch}};
	return utimes(path, tv) < 0 ? error_errno("utimes %s", path) : 0;
}

static int mcopy(const char *img, const char *src, const char *dst, char *const *env)
{
	const char *argv[] = {"mcopy", "-i", img, "-m", "-o", src, dst, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .env_add = env};
	int rc = run_argv(argv, &o);
	if (rc != 0)
		error("mcopy %s to %s:%s failed: %s", src, img, dst, out.buf);
	strbuf_release(&out);
	return rc ? -1 : 0;
}

static int mmd(const char *img, const char *dir, char *const *env)
{
	const char *argv[] = {"mmd", "-i", img, dir, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .env_add = env};
	int rc = run_argv(argv, &o);
	if (rc != 0)
		error("mmd %s:%s failed: %s", img, dir, out.buf);
	strbuf_release(&out);
	return rc ? -1 : 0;
}

static char *syslinux_cfg(const struct esp_inputs *in)
{
	return xasprintf("# written by apkg\nSERIAL 0 115200\nDEFAULT apkg\nPROMPT 0\nTIMEOUT 0\n\n"
			 "LABEL apkg\n  MENU LABEL %s\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND %s\n",
			 in->title, in->cmdline);
}

static char *loader_entry(const struct esp_inputs *in)
{
	return xasprintf("title %s\nlinux /vmlinuz\ninitrd /initrd.img\noptions %s\n", in->title, in->cmdline);
}

static const char loader_conf[] = "default apkg.conf\ntimeout 0\neditor no\nconsole-mode keep\n";

int esp_build(const struct esp_inputs *in, const char *path, uint64_t size)
{
	require_tool("mkfs.fat", "dosfstools");
	require_tool("mcopy", "mtools");
	int bios = in->boot != BOOT_UEFI, uefi = in->boot != BOOT_BIOS;
	if (bios)
		require_tool("syslinux", "syslinux");
	if (bios && !path_exists(SYSLINUX_GPTMBR))
		die_code(EXIT_MISSING_TOOL, "%s not found (install the Debian package 'syslinux-common')", SYSLINUX_GPTMBR);
	if (uefi && !path_exists(SYSTEMD_BOOT_EFI))
		die_code(EXIT_MISSING_TOOL, "%s not found (install the Debian package 'systemd-boot-efi')", SYSTEMD_BOOT_EFI);

	char serial[16], kib[32], epoch_env[48];
	snprintf(serial, sizeof serial, "%08x", in->serial);
	snprintf(kib, sizeof kib, "%llu", (unsigned long long)(size / 1024));
	snprintf(epoch_env, sizeof epoch_env, "SOURCE_DATE_EPOCH=%llu", (unsigned long long)in->epoch);
	char *env[] = {epoch_env, "MTOOLS_SKIP_CHECK=1", "TZ=UTC", NULL};
	unlink(path);
	/* --invariant fixes what mkfs.fat would otherwise take from the clock; it
	 * also sets the volume serial to 1234-ABCD, so -i (the serial derived
	 * from the recipe) must come after it to win. */
	const char *mkfs[] = {"mkfs.fat", "-C", "-F", "16", "-n", "ESP", "--invariant", "-i", serial, path, kib, NULL};
	struct strbuf out = STRBUF_INIT;
	struct run_opts o = {.output = &out, .env_add = env};
	if (run_argv(mkfs, &o) != 0) {
		error("mkfs.fat failed: %s", out.buf);
		strbuf_release(&out);
		return -1;
	}
	strbuf_release(&out);

	char *stage = path_join(in->scratch, "esp-stage");
	char *k = path_join(stage, "vmlinuz"), *i = path_join(stage, "initrd.img");
	char *scfg = path_join(stage, "syslinux.cfg"), *lconf = path_join(stage, "loader.conf");
	char *entry = path_join(stage, "apkg.conf"), *efi = path_join(stage, "BOOTX64.EFI");
	char *scfg_text = syslinux_cfg(in), *entry_text = loader_entry(in);
	int r = mkdir_p(stage, 0755);
	r = r ? r : stage_file(in->vmlinuz, k, in->epoch);
	r = r ? r : stage_file(in->initrd, i, in->epoch);
	r = r ? r : mcopy(path, k, "::/vmlinuz", env);
	r = r ? r : mcopy(path, i, "::/initrd.img", env);
	if (!r && uefi) {
		r = stage_file(SYSTEMD_BOOT_EFI, efi, in->epoch);
		r = r ? r : stage_text(lconf, loader_conf, in->epoch);
		r = r ? r : stage_text(entry, entry_text, in->epoch);
		r = r ? r : mmd(path, "::/EFI", env);
		r = r ? r : mmd(path, "::/EFI/BOOT", env);
		r = r ? r : mmd(path, "::/loader", env);
		r = r ? r : mmd(path, "::/loader/entries", env);
		r = r ? r : mcopy(path, efi, "::/EFI/BOOT/BOOTX64.EFI", env);
		r = r ? r : mcopy(path, lconf, "::/loader/loader.conf", env);
		r = r ? r : mcopy(path, entry, "::/loader/entries/apkg.conf", env);
	}
	if (!r && bios) {
		r = stage_text(scfg, scfg_text, in->epoch);
		r = r ? r : mmd(path, "::/syslinux", env);
		r = r ? r : mcopy(path, scfg, "::/syslinux/syslinux.cfg", env);
		if (!r) {
			const char *sl[] = {"syslinux", "--install", "--directory", "/syslinux", path, NULL};
			struct strbuf sout = STRBUF_INIT;
			struct run_opts so = {.output = &sout, .env_add = env};
			if (run_argv(sl, &so) != 0)
				r = error("syslinux --install failed: %s", sout.buf);
			strbuf_release(&sout);
		}
	}
	rm_rf(stage);
	free(stage); free(k); free(i); free(scfg); free(lconf); free(entry); free(efi);
	free(scfg_text); free(entry_text);
	return r;
}
