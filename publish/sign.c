/* publish/sign.c: gpg signing and gpgv checking. See sign.h. */
#include "publish/sign.h"

#include "util/diag.h"
#include "util/io.h"
#include "util/run.h"
#include "util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fingerprint of "[GNUPG:] VALIDSIG <fpr> ..." in status output; -1 if none. */
static int validsig(const char *status, char fpr[FPR_MAX])
{
	const char *p = strstr(status, "[GNUPG:] VALIDSIG ");
	if (!p)
		return -1;
	p += strlen("[GNUPG:] VALIDSIG ");
	size_t n = strspn(p, "0123456789ABCDEFabcdef");
	if (n != 40 && n != 64)
		return -1;
	memcpy(fpr, p, n);
	fpr[n] = 0;
	return 0;
}

static int bad_status(const char *status)
{
	static const char *const bad[] = {"[GNUPG:] BADSIG", "[GNUPG:] ERRSIG", "[GNUPG:] EXPKEYSIG",
					  "[GNUPG:] REVKEYSIG", "[GNUPG:] NO_PUBKEY"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (strstr(status, bad[i]))
			return 1;
	return 0;
}

static void show(const struct strbuf *out)
{
	if (out->len)
		fprintf(stderr, "%s%s", out->buf, out->buf[out->len - 1] == '\n' ? "" : "\n");
}

int sign_detached(const char *key, const char *data_path, const char *sig_path, char fpr[FPR_MAX])
{
	struct strbuf out = STRBUF_INIT;
	const char *sign[] = {"gpg", "--batch", "--yes", "--armor", "--local-user", key, "--output", sig_path,
			      "--detach-sign", data_path, NULL};
	struct run_opts o = {.output = &out, .die_with_parent = 1};
	int rc = run_argv(sign, &o);
	if (rc != 0) {
		show(&out);
		strbuf_release(&out);
		return error("gpg could not sign with key '%s' (exit %d); a key with a passphrase needs a running "
			     "gpg-agent that has it",
			     key, rc);
	}
	strbuf_reset(&out);
	const char *check[] = {"gpg", "--batch", "--status-fd", "1", "--verify", sig_path, data_path, NULL};
	rc = run_argv(check, &o);
	int ret = 0;
	if (rc != 0 || bad_status(out.buf) || validsig(out.buf, fpr) < 0) {
		show(&out);
		ret = error("the signature gpg just made does not verify");
	}
	strbuf_release(&out);
	return ret;
}

static int starts_armored(const char *path)
{
	FILE *f = fopen(path, "re");
	char buf[64] = {0};
	if (f) {
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	return strstr(buf, "-----BEGIN PGP") != NULL;
}

/* A binary keyring gpgv can read: the file itself, or its dearmoured copy in home. */
static char *binary_keyring(const char *keyring, const char *home)
{
	char *abs = realpath(keyring, NULL);
	if (!abs) {
		error_errno("cannot read the keyring %s", keyring);
		return NULL;
	}
	if (!starts_armored(abs))
		return abs;
	char *out_path = path_join(home, "keyring.gpg");
	const char *argv[] = {"gpg", "--batch", "--homedir", home, "--output", out_path, "--dearmor", abs, NULL};
	if (run_checked_argv(argv) < 0) {
		error("cannot read the keyring %s", keyring);
		free(out_path);
		out_path = NULL;
	}
	free(abs);
	return out_path;
}

int verify_detached(const char *keyring, const char *sig_path, const char *data_path, char fpr[FPR_MAX])
{
	char home[] = "/tmp/apkg-gpg.XXXXXX";
	if (!mkdtemp(home))
		return error_errno("cannot create a temporary GNUPGHOME");
	cleanup_register(home);
	char *ring = binary_keyring(keyring, home);
	int ret = -1;
	if (ring) {
		struct strbuf out = STRBUF_INIT;
		const char *argv[] = {"gpgv", "--homedir", home, "--status-fd", "1", "--keyring", ring,
				      sig_path, data_path, NULL};
		struct run_opts o = {.output = &out, .die_with_parent = 1};
		int rc = run_argv(argv, &o);
		if (rc == 0 && !bad_status(out.buf) && validsig(out.buf, fpr) == 0 && strstr(out.buf, "[GNUPG:] GOODSIG"))
			ret = 0;
		else if (strstr(out.buf, "[GNUPG:] NO_PUBKEY") || strstr(out.buf, "[GNUPG:] ERRSIG"))
			error("SHA256SUMS.asc is not signed by a key in %s", keyring);
		else
			error("SHA256SUMS.asc is not a good signature over SHA256SUMS");
		strbuf_release(&out);
	}
	free(ring);
	rm_rf(home);
	cleanup_unregister(home);
	return ret;
}
