#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The repository explains itself: no source file may send its reader to a
# document outside the tree (the founders' design notes, a SIEM memo, a
# sibling "shared" folder) or to an issue tracker number.  Comments point
# at docs/architecture.md, docs/flow-records.md or a function instead.
# One test per tracked source file kind (C, headers, BPF, shell, the e2e
# scripts, the Makefile); each failure lists file:line: text.  Fuzzing
# corpora are data, not prose, and are left out.  No root needed.

cd "$(dirname "$0")/../.." || exit 255
. "$PWD/tests/lib/tap.sh"

git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	bail "not in a git work tree: this test reads 'git ls-files'"

# The founders' design brief by name or section, the SIEM memo, the
# sibling folder they live in, and issue numbers ("issue 8", "issue #8").
PATTERN='DESIGN\.md|DESIGN §|SIEM\.md|\.\./shared|shared/(DESIGN|SIEM|STYLE)|[Ii]ssue #?[0-9]+'
SELF=tests/unit/no_external_refs.t

check() {	# check DESCRIPTION PATHSPEC...
	local desc=$1 files hits
	shift
	files=$(git ls-files -- "$@" | grep -v '^tests/fuzz/corpus/' | grep -vxF "$SELF")
	if [ -z "$files" ]; then
		ok 1 "$desc: no tracked files matched $*"
		return
	fi
	hits=$(xargs -d '\n' grep -nE "$PATTERN" -- <<<"$files")
	ok "$([ -z "$hits" ] && echo 0 || echo 1)" \
		"$desc: no citation of a document outside the repository"
	[ -n "$hits" ] && sed 's/^/#   /' <<<"$hits"
}

echo "1..6"
check "C sources" '*.c' ':!*.bpf.c'
check "headers" '*.h'
check "BPF programs" '*.bpf.c'
check "shell scripts" '*.sh'
check "test scripts" '*.t'
check "Makefile" Makefile
[ "$TAP_N" -eq 6 ] || bail "planned 6 tests, ran $TAP_N"
exit $((TAP_FAILED > 254 ? 254 : TAP_FAILED))
