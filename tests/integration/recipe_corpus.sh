#!/bin/bash
# tests/integration/recipe_corpus.sh: `apkg recipe check` against the recipe corpus.
#
#   tests/data/recipes/bad/NN-*.yaml    must exit 2 with exactly the stderr in NN-*.expected
#                                       (every problem, as file:line:col, in order)
#   tests/data/recipes/good/*.yaml      must exit 0, print exactly *.json with --json, print
#                                       nothing on stderr (or exactly *.stderr: warnings), and
#                                       the printed JSON, read back as a recipe, must resolve
#                                       to itself (the round trip)
#   recipes/*.yaml                      the examples users copy must be valid and round-trip
# plus the command's own behaviour: a missing file, usage errors, SOURCE_DATE_EPOCH.
# Runs from the repository root so that the paths in messages are stable.
# APKG_UPDATE_EXPECTED=1 rewrites the expected files (review the diff before committing).
set -u
cd "$(dirname "$0")/../.."
apkg=${APKG:-bin/apkg} # APKG=build/asan/apkg runs the corpus under ASan
[ -x "$apkg" ] || { echo "$apkg is not built"; exit 1; }
unset SOURCE_DATE_EPOCH
export NO_COLOR=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" recipes/.roundtrip.tmp-*' EXIT
failures=0 checked=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_output LABEL WANT_FILE GOT_FILE
expect_output() {
	if [ "${APKG_UPDATE_EXPECTED:-}" = 1 ] && [ "$2" != /dev/null ]; then
		cp "$3" "$2"
	elif ! diff -u "$2" "$3" >"$tmp/diff"; then
		fail "$1"
		cat "$tmp/diff"
	fi
}

for recipe in tests/data/recipes/bad/[0-9][0-9]-*.yaml; do
	checked=$((checked + 1))
	"$apkg" recipe check "$recipe" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$recipe: exit $rc, expected 2"
	[ -s "$tmp/out" ] && fail "$recipe: printed on stdout"
	expect_output "$recipe: messages" "${recipe%.yaml}.expected" "$tmp/err"
done

# check_valid RECIPE JSON STDERR_FILE
check_valid() {
	checked=$((checked + 1))
	"$apkg" recipe check --json "$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	[ $rc -eq 0 ] || { fail "$1: exit $rc, expected 0"; cat "$tmp/err"; return; }
	expect_output "$1: stderr" "$3" "$tmp/err"
	expect_output "$1: resolved JSON" "$2" "$tmp/out"
	# The round trip: the JSON is a recipe (next to the original, for relative
	# sources) that resolves to the same JSON.
	local again
	again=$(mktemp "$(dirname "$1")/.roundtrip.tmp-XXXXXX")
	cp "$tmp/out" "$again"
	"$apkg" recipe check --json "$again" >"$tmp/again" 2>"$tmp/err2"
	rc=$?
	rm -f "$again"
	[ $rc -eq 0 ] || { fail "$1: its JSON does not load again (exit $rc)"; cat "$tmp/err2"; return; }
	cmp -s "$tmp/out" "$tmp/again" || { fail "$1: JSON changed on the round trip"; diff "$tmp/out" "$tmp/again"; }
}

for recipe in tests/data/recipes/good/*.yaml; do
	stderr=${recipe%.yaml}.stderr
	[ -e "$stderr" ] || stderr=/dev/null
	check_valid "$recipe" "${recipe%.yaml}.json" "$stderr"
done
for recipe in recipes/*.yaml; do
	"$apkg" recipe check --json "$recipe" >"$tmp/example.json"
	check_valid "$recipe" "$tmp/example.json" /dev/null
	"$apkg" recipe check "$recipe" >"$tmp/summary" || fail "$recipe: summary"
	grep -q "valid recipe for" "$tmp/summary" || fail "$recipe: no summary line"
done

# The command itself.
"$apkg" recipe check tests/data/recipes/no-such-recipe.yaml >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] || fail "missing recipe: exit $rc, expected 2"
echo "apkg: error: tests/data/recipes/no-such-recipe.yaml: cannot read recipe: No such file or directory" >"$tmp/want"
expect_output "missing recipe: message" "$tmp/want" "$tmp/err"
"$apkg" recipe check --help >"$tmp/out" || fail "recipe check --help exits non-zero"
grep -q "usage: apkg recipe check" "$tmp/out" || fail "recipe check --help prints no usage"
"$apkg" recipe >/dev/null 2>&1; [ $? -eq 2 ] || fail "apkg recipe without a subcommand: expected exit 2"
"$apkg" recipe check >/dev/null 2>&1; [ $? -eq 2 ] || fail "apkg recipe check without a recipe: expected exit 2"
"$apkg" recipe check --bogus recipes/hello.yaml >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: expected exit 2"
"$apkg" recipe lint recipes/hello.yaml >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown subcommand: expected exit 2"

# The epoch: the recipe's `epoch` key, else SOURCE_DATE_EPOCH, else 1700000000.
epoch=$(SOURCE_DATE_EPOCH=1234567890 "$apkg" recipe check --json recipes/hello.yaml | grep '"epoch"')
[ "$epoch" = '  "epoch": 1234567890,' ] || fail "SOURCE_DATE_EPOCH not used: $epoch"
epoch=$(SOURCE_DATE_EPOCH=1234567890 "$apkg" recipe check --json tests/data/recipes/good/full.yaml | grep '"epoch"')
[ "$epoch" = '  "epoch": 1600000000,' ] || fail "the recipe's epoch does not win over SOURCE_DATE_EPOCH: $epoch"
SOURCE_DATE_EPOCH=yesterday "$apkg" recipe check recipes/hello.yaml >/dev/null 2>&1
[ $? -eq 2 ] || fail "an invalid SOURCE_DATE_EPOCH is accepted"

echo "$checked recipes checked, $failures failures"
[ $failures -eq 0 ]
