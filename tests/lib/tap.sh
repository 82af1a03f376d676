# shellcheck shell=bash
# TAP for the shell tests: ok/is/like print one point each, diag a comment,
# bail stops the file, tap_done prints the plan and gives the exit status.
# Sourced by tests/lib/netns.sh and by the shell tests that need no
# namespaces.

TAP_N=0
TAP_FAILED=0

ok() {	# ok COND-EXIT-STATUS DESCRIPTION
	local st=$1; shift
	TAP_N=$((TAP_N + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $TAP_N - $*"
	else
		echo "not ok $TAP_N - $*"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
	return "$st"
}

is() {	# is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]
	ok $? "$3" && return 0
	printf '#   got:      %s\n' "$1" | sed '2,$s/^/#             /'
	printf '#   expected: %s\n' "$2" | sed '2,$s/^/#             /'
	return 1
}

like() {	# like GOT FIXED-SUBSTRING DESCRIPTION
	case "$1" in
	*"$2"*) ok 0 "$3" ;;
	*)
		ok 1 "$3"
		printf '#   %s\n#   does not contain: %s\n' "$1" "$2"
		return 1
		;;
	esac
}

diag() { echo "# $*"; }
bail() { echo "Bail out! $*"; exit 255; }

tap_done() {	# the plan; non-zero exit status when a point failed
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ] && return 0
	echo "# $TAP_FAILED of $TAP_N failed"
	return 1
}
