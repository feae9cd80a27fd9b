#!/bin/bash
# tests/integration/vmm_console_tty.sh: `apkg boot --vmm` as an interactive console on a terminal.
#
# Under a real pseudo-terminal (script(1)): what is typed reaches the guest's
# COM1 (the test guest echoes a line back); Ctrl-A x stops the VMM with exit
# status 0; while the guest runs the terminal is raw (no echo, no line
# editing), and it is restored afterwards, also when apkg is killed by SIGTERM.
set -u
cd "$(dirname "$0")/../.."
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; }
command -v script >/dev/null || { echo "SKIP: script(1) is missing (package bsdutils)"; exit 77; }
guest=build/vmm-guests/testguest.bzImage
[ -f "$guest" ] || { echo "missing $guest (make guests)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
boot="bin/apkg boot --vmm --kernel $guest --timeout 20"
modes() { echo "stty -a </dev/tty | grep -o -- '-\?icanon\|-\?echo ' | tr '\n' ' '; echo"; }

# Input typed ahead goes to the guest (Enter is \r on a raw terminal); the terminal comes back cooked.
printf 'typed at a terminal\r' | timeout 60 script -qfec "$boot --cmdline test=uart 2>/dev/null; echo rc=\$?; $(modes)" /dev/null |
	tr -d '\r' >"$tmp/typed"
grep -q "^UART echo typed at a terminal$" "$tmp/typed" || fail "the guest did not get the typed line: $(cat "$tmp/typed")"
grep -q "^rc=0$" "$tmp/typed" || fail "the boot failed: $(cat "$tmp/typed")"
grep -q "^icanon echo" "$tmp/typed" || fail "the terminal was not restored: $(tail -n1 "$tmp/typed")"

# Ctrl-A x stops a guest that would run until the time limit.
printf '\001x' | timeout 60 script -qfec "$boot --cmdline 'test=none exit=hang' 2>&1; echo rc=\$?" /dev/null |
	tr -d '\r' >"$tmp/escape"
grep -q "stopped from the console" "$tmp/escape" && grep -q "^rc=0$" "$tmp/escape" ||
	fail "Ctrl-A x did not stop the VMM cleanly: $(tail -n3 "$tmp/escape")"

# Raw while running; restored after SIGTERM (the VMM's threads leave the signal to the main thread).
sleep 2 | timeout 60 script -qfec "$boot --cmdline 'test=none exit=hang' </dev/tty >/dev/null 2>&1 & p=\$!;
	while ! stty -a </dev/tty | grep -q -- '-icanon'; do sleep 0.1; done; echo during: \$($(modes));
	kill -TERM \$p; wait \$p; echo rc=\$?; echo after: \$($(modes))" /dev/null | tr -d '\r' >"$tmp/term"
grep -q "^during: -icanon -echo" "$tmp/term" || fail "the terminal was not raw while the guest ran: $(cat "$tmp/term")"
grep -q "^rc=143$" "$tmp/term" || fail "SIGTERM did not end apkg as SIGTERM does: $(cat "$tmp/term")"
grep -q "^after: icanon echo" "$tmp/term" || fail "the terminal stayed raw after SIGTERM: $(cat "$tmp/term")"
echo "the VMM console works on a terminal: input, Ctrl-A x, raw mode restored (also on SIGTERM)"
