/* publish/names.h: which names may appear on a download mirror, and how
 * versions are ordered.
 *
 * Appliance names, versions and file names become directory and file names
 * on the mirror, URL path segments and rsync filter rules, and they come from
 * places apkg does not control (an output directory someone edited, a
 * downloaded SHA256SUMS or index.json). Promises: a name that passes these
 * checks is one plain path component that needs no quoting anywhere (no '/',
 * no leading '.', no glob or shell characters, no spaces or controls).
 * Versions compare like Debian versions (dpkg --compare-versions without
 * epochs), so "1.10" sorts after "1.9" and "2.0~rc1" before "2.0".
 */
#ifndef APKG_PUBLISH_NAMES_H
#define APKG_PUBLISH_NAMES_H

/* The recipe's rules: an appliance name is [a-z0-9][a-z0-9-]*, at most 63
 * characters; a version is [A-Za-z0-9][A-Za-z0-9.+~_-]*, at most 64. */
int appliance_name_ok(const char *s);
int version_ok(const char *s);
/* A file inside a version directory: [A-Za-z0-9][A-Za-z0-9.+~_-]*, at most 255. */
int mirror_file_name_ok(const char *s);
/* <0, 0, >0 like strcmp; a total order (versions Debian calls equal, such
 * as "1.0" and "1.00", fall back to strcmp). */
int version_compare(const char *a, const char *b);

#endif
