/* repro/repro.h: `apkg build --verify-repro`: build twice, compare everything, name the first difference.
 *
 * The first build is the normal one (stage cache allowed, output in the
 * usual place). The second runs in a scratch directory beside it with the
 * stage cache off and a different number of compression threads, so that
 * neither a stale cache entry nor the thread count can hide a difference.
 * Every artifact is compared byte for byte (repro/compare.h), and so are the
 * two root trees, each difference with the Debian package behind it.
 */
#ifndef APKG_REPRO_REPRO_H
#define APKG_REPRO_REPRO_H

struct recipe;
struct build_opts;
struct build_result;
struct strbuf;

/* Returns 0 when every artifact is identical, 1 when some differ (the
 * report in `report` says where), -1 when a build failed. res is the first
 * build's result whenever that build succeeded (caller releases it). */
int repro_verify_build(const struct recipe *r, const struct build_opts *o, struct build_result *res,
		       struct strbuf *report);

#endif
