#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# netsegctl(8)'s COMMANDS sections as a C table for `netsegctl COMMAND
# --help`: one wording for the man page and the help, never drifting.
# Usage: manhelp.sh docs/man/netsegctl.8.scd > .output/ctl_help.h
set -e
sed -e 's/\\_/\x02/g' -e 's/\\\*/\x01/g' -e 's/\*//g' -e 's/\x01/*/g' \
    -e 's/\b_\([^_ ]*\)_/\1/g' -e 's/\x02/_/g' -e 's/^\t/  /' "$1" |
awk '
function emit() {
	sub(/^\n+/, "", text)
	sub(/\n+$/, "\n", text)
	gsub(/\\/, "\\\\", text)
	gsub(/"/, "\\\"", text)
	gsub(/\n/, "\\n\"\n\t  \"", text)
	printf "\t{ \"%s\",\n\t  \"%s\" },\n", name, text
}
/^# /  { if (name != "") emit(); name = ""; in_cmds = ($0 == "# COMMANDS"); next }
/^## / { if (name != "") emit(); name = in_cmds ? substr($0, 4) : ""; text = ""; next }
name != "" && /^netsegctl / { next }	# the synopsis: --help prints the usage line
name != "" { text = text $0 "\n" }
END { if (name != "") emit() }
' | { echo '/* Generated from docs/man/netsegctl.8.scd by ctl/manhelp.sh. */'; cat; }
