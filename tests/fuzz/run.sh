#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs each named libFuzzer harness for FUZZ_TIME seconds on a copy of its
# seed corpus (tests/fuzz/corpus/NAME, never modified) with its dictionary,
# under the ASan/UBSan it was built with.  A crash, leak, timeout or broken
# invariant fails the run, naming the harness and the saved input, which is
# kept in $FUZZ_OUT/findings/NAME/.  `make fuzz-smoke` calls this.
#   FUZZ_TIME=300 FUZZ_OUT=.output/fuzz tests/fuzz/run.sh rule netlink ...
# FUZZ_KEEP_CORPUS=DIR keeps each grown corpus in DIR/NAME.
set -u
here=$(cd "$(dirname "$0")" && pwd)
time=${FUZZ_TIME:-30}
out=${FUZZ_OUT:-.output/fuzz}
work=$(mktemp -d /tmp/netseg-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
fail=0
for name; do
	bin=$out/$name
	if [ ! -x "$bin" ]; then
		echo "FAIL $name: $bin is not built (make fuzz)"
		fail=1
		continue
	fi
	w=$work/$name
	mkdir -p "$w/corpus" "$w/artifacts"
	cp "$here/corpus/$name/." "$w/corpus/" -R
	set -- -max_total_time="$time" -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=2 -print_final_stats=1 -artifact_prefix="$w/artifacts/"
	[ -f "$here/$name.dict" ] && set -- "$@" -dict="$here/$name.dict"
	case $name in
	netlink) set -- "$@" -max_len=65536 ;;
	ctlproto) set -- "$@" -max_len=16384 ;;
	esac
	start=$(date +%s)
	NETSEG_FUZZ_TMP=$w "$bin" "$@" "$w/corpus" > "$w/log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	found=$(ls "$w/artifacts")
	if [ $rc -ne 0 ] || [ -n "$found" ]; then
		mkdir -p "$out/findings/$name"
		cp "$w/artifacts/"* "$out/findings/$name/" 2>/dev/null
		echo "FAIL $name (exit $rc after ${secs}s):"
		grep -a -E "invariant broken|ERROR:|runtime error|SUMMARY|leak" "$w/log" | head -8 | sed 's/^/    /'
		for f in $found; do
			echo "    input: $out/findings/$name/$f  (replay: $bin $out/findings/$name/$f)"
		done
		fail=1
		continue
	fi
	done_line=$(grep -a "DONE " "$w/log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$w/log")
	cov=$(echo "$done_line" | sed -n 's/.*\(cov: [0-9]* ft: [0-9]* corp: [^ ]*\).*/\1/p')
	echo "ok   $name: ${secs}s, $execs execs ($rate/s), $cov"
	if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
		mkdir -p "$FUZZ_KEEP_CORPUS/$name"
		cp "$w/corpus/." "$FUZZ_KEEP_CORPUS/$name/" -R
	fi
done
exit $fail
