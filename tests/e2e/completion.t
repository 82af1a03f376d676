#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bash completion for netsegctl (completion/netsegctl.bash), sourced into
# this shell and driven as bash drives it: COMP_WORDS and COMP_CWORD set,
# _netsegctl called, COMPREPLY read.  The commands it offers must be the
# ones `netsegctl --help` lists.  Identity names and rule ids come from a
# fake netsegctl on PATH that logs its arguments and prints canned JSON;
# against an unreachable socket the real netsegctl gives nothing and
# prints nothing.  (tests/e2e/install.t completes names from a running
# daemon.)  No root needed.

cd "$(dirname "$0")/../.." || exit 255
TOP=$PWD
CTL=$TOP/ctl/netsegctl
. "$PWD/tests/lib/tap.sh"
[ -x "$CTL" ] || bail "build first: make"

T=$(mktemp -d /tmp/netseg-compl.XXXX)
trap 'rm -rf "$T"' EXIT

# shellcheck source=../../completion/netsegctl.bash
source "$TOP/completion/netsegctl.bash" || bail "completion/netsegctl.bash doesn't source"
complete -p netsegctl >/dev/null 2>&1; ok $? "it registers _netsegctl for netsegctl"

comp() {	# comp WORD...: COMPREPLY for the last word, sorted, one line
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_netsegctl
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# Commands: exactly the ones --help lists (help itself is one too).
want=$( ("$CTL" --help | sed -n 's/^  netsegctl \([a-z]*\).*/\1/p'; echo help) | sort -u | tr '\n' ' ' | sed 's/ $//')
is "$(comp netsegctl '')" "$want" "commands: those of netsegctl --help"
is "$(comp netsegctl st)" "stats status" "'st' completes to stats, status"
is "$(comp netsegctl -)" "--help --output --socket --verbose --version -h -o -s -v" "global options"
is "$(comp netsegctl -o '')" "cef ecs json json-compact ocsf text" "-o formats"
is "$(comp netsegctl allow --)" "--audit --comment --help --log --output --socket --verbose" "flags of allow"
is "$(comp netsegctl deny --)" "--comment --help --log --output --socket --verbose" "flags of deny (no --audit)"
is "$(comp netsegctl apply --)" "--dry-run --expect-revision --file --help --output --socket --verbose" "flags of apply"
is "$(comp netsegctl identity '')" "add list remove set" "identity subcommands"
is "$(comp netsegctl identity set web --)" "--add-cgroup --add-cidr --add-iface --audit --help --namespace --output --remove-cgroup --remove-cidr --remove-iface --remove-selector --selector --socket --verbose" "flags of identity set"
is "$(comp netsegctl identity set web --audit '')" "off on" "identity set --audit: on or off"
is "$(comp netsegctl rule '')" "set" "rule subcommands"
is "$(comp netsegctl rule set 3 --)" "--audit --comment --help --log --output --socket --verbose" "flags of rule set"
is "$(comp netsegctl rule set 3 --log '')" "off on" "rule set --log: on or off"
is "$(comp netsegctl identity add web --)" "--audit --cgroup --cidr --help --iface --namespace --output --selector --socket --verbose" "flags of identity add"
is "$(comp netsegctl identity add web --selector '')" "" "identity add --selector: typed, nothing offered"
is "$(comp netsegctl flows --verdict '')" "allowed audit denied end" "flows --verdict values"
is "$(comp netsegctl observe --)" "--follow --from --help --last --no-color --output --port --since --socket --to --verbose --verdict" "flags of observe"
is "$(comp netsegctl observe --verdict '')" "allowed audit denied end" "observe --verdict values"
is "$(comp netsegctl observe --port '')" "" "observe --port: a number, nothing offered"
is "$(comp netsegctl trace a b 443 --)" "--exit-code --help --output --socket --verbose" "flags of trace"
is "$(comp netsegctl check --)" "--file --help --offline --output --socket --verbose" "flags of check"
: >"$T/site.rules"
is "$(comp netsegctl prefilter '')" "add apply list remove" "prefilter subcommands"
is "$(comp netsegctl prefilter apply --)" "--dry-run --file --help --output --socket --verbose" "flags of prefilter apply"
is "$(cd "$T" && comp netsegctl prefilter apply -f si)" "site.rules" "prefilter apply -f completes file names"
is "$(comp netsegctl logs '')" "verify" "logs verify"
is "$(comp netsegctl trace frontend api '')" "icmp/ icmpv6/ sctp/ tcp/ udp/" "trace's third word: a protocol"
is "$(cd "$T" && comp netsegctl apply -f si)" "site.rules" "apply -f completes file names"
is "$(comp netsegctl endpoint '')" "label list unlabel" "endpoint subcommands"
is "$(comp netsegctl endpoint label lo --)" "--help --namespace --output --socket --verbose" "flags of endpoint label"
is "$(comp netsegctl get '')" "namespaces netpol networkpolicies ns" "get: the kinds"
is "$(comp netsegctl get netpol --)" "--all-namespaces --help --namespace --output --socket --verbose" "flags of get"
is "$(comp netsegctl get netpol -o '')" "json yaml" "get -o: yaml or json"
is "$(comp netsegctl delete --)" "--file --help --ignore-not-found --namespace --output --socket --verbose" "flags of delete"
is "$(cd "$T" && comp netsegctl delete -f si)" "site.rules" "delete -f completes file names"
is "$(comp netsegctl delete -f x.yaml '')" "" "delete -f FILE: no kind offered after it"

# A fake daemon client on PATH: logs its arguments, prints what the real
# one prints with -o json-compact.
mkdir "$T/bin"
cat >"$T/bin/netsegctl" <<FAKE
#!/bin/bash
echo "\$*" >>"$T/calls"
case "\$*" in
*"get ns") echo '{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"prod","labels":{"kubernetes.io/metadata.name":"prod"}}}]}' ;;
*"get netpol") echo '{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"allow-web","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}]}' ;;
*"prefilter list") echo '{"prefilter":[{"cidr":"198.19.0.0/16","hits":4}]}' ;;
*"identity list") echo '{"identities":[{"name":"frontend","id":256,"ifaces":["vfe*"],"cgroups":[],"cidrs":[],"audit":false},{"name":"api","id":257,"ifaces":[],"cgroups":[],"cidrs":[],"audit":true}]}' ;;
*" list") echo '{"rules":[{"id":3,"action":"allow","rule":"frontend -> api:tcp/443","audit":false,"log":false,"comment":""},{"id":17,"action":"deny","rule":"* -> api:tcp/22","audit":false,"log":false,"comment":"no ssh"}],"revision":9}' ;;
*) exit 3 ;;
esac
FAKE
chmod +x "$T/bin/netsegctl"
PATH=$T/bin:$PATH

is "$(comp netsegctl identity remove '')" "api frontend" "identity remove: names from the daemon"
is "$(comp netsegctl allow f)" "frontend" "allow 'f': frontend"
is "$(comp netsegctl allow '')" "api frontend host world" "allow: the source from identities, world, host"
is "$(comp netsegctl allow frontend- '>' '')" "api frontend host world" "allow frontend->: the destination"
is "$(comp netsegctl deny frontend to a)" "api" "deny frontend to 'a': api"
is "$(comp netsegctl remove '')" "17 3" "remove: rule ids from the daemon"
is "$(comp netsegctl flows --rule 1)" "17" "flows --rule '1': 17"
is "$(comp netsegctl flows --identity '')" "api frontend" "flows --identity: names"
is "$(comp netsegctl observe --to '')" "api frontend host world" "observe --to: names, world, host"
is "$(comp netsegctl observe --last 5 --from f)" "frontend" "observe --last 5 --from 'f': frontend"
is "$(comp netsegctl prefilter remove '')" "198.19.0.0/16" "prefilter remove: the CIDRs in force"
is "$(comp netsegctl delete '')" "-f 17 3 namespace netpol networkpolicy ns" "delete: -f, the kinds, rule ids"
is "$(comp netsegctl delete netpol '')" "prod/allow-web" "delete netpol: NS/NAME of the policies in force"
is "$(comp netsegctl delete ns '')" "prod" "delete ns: the namespaces in force"
is "$(comp netsegctl get netpol -n '')" "prod" "get -n: the namespaces in force"
: >"$T/calls"
comp netsegctl -s /tmp/other.sock identity remove '' >/dev/null
grep -q -- "^-s /tmp/other.sock -o json-compact identity list$" "$T/calls"
ok $? "the line's -s SOCKET is asked ($(head -1 "$T/calls"))"

# No daemon: the real netsegctl, a socket nobody listens on.
PATH=${PATH#"$T"/bin:}
out=$(comp "$CTL" -s "$T/none.sock" identity remove '' 2>"$T/err")
is "$out|$(cat "$T/err")" "|" "no daemon: no names, no message"
out=$(comp "$CTL" -s "$T/none.sock" allow '' 2>"$T/err")
is "$out|$(cat "$T/err")" "host world|" "no daemon: allow offers world and host only"

tap_done
