/* publish/names.c: mirror-safe names and Debian version ordering. See names.h. */
#include "publish/names.h"

#include <string.h>

static int is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
static int is_alnum(char c) { return is_lower_or_digit(c) || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* s is first-char-ok followed by rest-ok characters, 1..max long. */
static int word_ok(const char *s, size_t max, int (*first)(char), const char *extra)
{
	size_t n = strlen(s);
	if (!n || n > max || !first(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && !strchr(extra, s[i]))
			return 0;
	return 1;
}

int appliance_name_ok(const char *s)
{
	if (!word_ok(s, 63, is_lower_or_digit, "-"))
		return 0;
	for (const char *p = s; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return 0;
	return 1;
}

int version_ok(const char *s) { return word_ok(s, 64, is_alnum, ".+~_-"); }

int mirror_file_name_ok(const char *s) { return word_ok(s, 255, is_alnum, ".+~_-"); }

/* dpkg's character weight: '~' before everything (even the end), then the
 * end and digits, then letters, then everything else. */
static int order(char c)
{
	if (is_digit(c) || !c)
		return 0;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return (unsigned char)c;
	if (c == '~')
		return -1;
	return (unsigned char)c + 256;
}

/* dpkg's verrevcmp: alternating non-digit and digit runs. */
static int debian_compare(const char *a, const char *b)
{
	while (*a || *b) {
		while ((*a && !is_digit(*a)) || (*b && !is_digit(*b))) {
			int ac = order(*a), bc = order(*b);
			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		int first_diff = 0;
		while (is_digit(*a) && is_digit(*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (is_digit(*a))
			return 1;
		if (is_digit(*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

int version_compare(const char *a, const char *b)
{
	int c = debian_compare(a, b);
	return c ? c : strcmp(a, b);
}
