# bash completion for netsegctl(8)                       -*- shell-script -*-
# SPDX-License-Identifier: GPL-2.0-only
#
# Commands, subcommands and flags are listed here; identity names and rule
# ids come from the daemon (`netsegctl -o json-compact identity list` and
# `list`, with the -s/--socket the line already has) and are silently left
# out when it doesn't answer within a second.  Needs nothing but bash (not
# the bash-completion package's helpers).  tests/e2e/completion.t checks
# the command list against `netsegctl --help`.

_netsegctl_query()	# _netsegctl_query JSON-KEY COMMAND...: the key's values
{
	local key=$1 bin=${COMP_WORDS[0]}
	shift
	# What the user typed (./ctl/netsegctl) when it runs, else PATH's.
	[[ $bin == */* && -x $bin ]] || bin=netsegctl
	command -v "$bin" >/dev/null 2>&1 || return 0
	timeout 1 "$bin" "${_netsegctl_sock[@]}" -o json-compact "$@" 2>/dev/null </dev/null |
		grep -o "\"$key\":[^,}]*" | sed -e 's/^[^:]*://' -e 's/"//g'
}

_netsegctl_names()
{
	_netsegctl_query name identity list
}

_netsegctl_ids()
{
	_netsegctl_query id list
}

# Kubernetes objects in force: namespaces by name, policies as NS/NAME
# (a policy's metadata is printed name first, then namespace).
_netsegctl_k8s_namespaces()
{
	_netsegctl_query name get ns
}

_netsegctl_k8s_policies()
{
	local bin=${COMP_WORDS[0]}
	[[ $bin == */* && -x $bin ]] || bin=netsegctl
	command -v "$bin" >/dev/null 2>&1 || return 0
	timeout 1 "$bin" "${_netsegctl_sock[@]}" -o json-compact get netpol 2>/dev/null </dev/null |
		grep -o '"metadata":{"name":"[^"]*","namespace":"[^"]*"' |
		sed 's/^"metadata":{"name":"\([^"]*\)","namespace":"\([^"]*\)"$/\2\/\1/'
}

# Read line by line: an unquoted $(compgen) would glob what it returns.
_netsegctl_add()	# _netsegctl_add WORD...: the words that start with $cur
{
	local w
	while IFS= read -r w; do
		COMPREPLY+=("$w")
	done < <(IFS=$' \t\n' compgen -W "$*" -- "$cur")
}

_netsegctl_files()	# _netsegctl_files [-d]: files (or directories only)
{
	local w
	compopt -o filenames 2>/dev/null
	while IFS= read -r w; do
		COMPREPLY+=("$w")
	done < <(compgen "${1:--f}" -- "$cur")
}

# A selector of a rule: identity names and the reserved ones.  The shell
# splits "frontend->api" at '>' (COMP_WORDBREAKS), so after '->' the word
# being completed is the destination alone.
_netsegctl_selectors()
{
	_netsegctl_add $(_netsegctl_names) world host
}

_netsegctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="status stats identity endpoint allow deny remove rule list
		apply delete get diff check trace flows observe prefilter attach detach node logs map
		suggest help"
	local globals="-o --output -s --socket -v --verbose -h --help --version"
	local i cmd= sub= nargs=0 w has_file=
	_netsegctl_sock=()
	COMPREPLY=()

	# Find the command and the socket the line names; count the
	# command's positional words before the cursor.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		[[ $w == @(-f|--file|--file=*) ]] && has_file=1
		case $w in
		-s | --socket)
			_netsegctl_sock=(-s "${COMP_WORDS[i + 1]}")
			((i++))
			continue ;;
		--socket=*)
			_netsegctl_sock=(-s "${w#--socket=}")
			continue ;;
		-o | --output | --comment | --iface | --cgroup | --cidr | -f | --file | \
		--add-iface | --remove-iface | --add-cgroup | --remove-cgroup | \
		--add-cidr | --remove-cidr | --selector | --namespace | \
		--expect-revision | --verdict | --identity | --rule | --since | --output-file | \
		--from | --to | --port | --last | -n | --namespace)
			((i++))
			continue ;;
		-*) continue ;;
		esac
		if [[ -z $cmd ]]; then
			cmd=$w
		elif [[ -z $sub && $cmd =~ ^(identity|endpoint|prefilter|logs|rule|delete|get|node)$ ]]; then
			sub=$w
		else
			((nargs++))
		fi
	done

	case $prev in
	--audit | --log)
		# rule set takes on|off; allow's and identity add's are bare.
		[[ $cmd == rule || $sub == set ]] && { _netsegctl_add on off; return 0; } ;;
	-o | --output)
		case $cmd in
		map) _netsegctl_add dot svg png json ;;
		suggest) _netsegctl_add rules yaml json ;;
		get) _netsegctl_add yaml json ;;
		*) _netsegctl_add json json-compact text ocsf ecs cef ;;
		esac
		return 0 ;;
	-s | --socket | -f | --file | --output-file)
		_netsegctl_files
		return 0 ;;
	--verdict)
		_netsegctl_add allowed denied audit end
		return 0 ;;
	--identity)
		_netsegctl_add $(_netsegctl_names)
		return 0 ;;
	--from | --to)
		# or an IP address or CIDR, typed
		_netsegctl_add $(_netsegctl_names) world host
		return 0 ;;
	--rule)
		_netsegctl_add $(_netsegctl_ids)
		return 0 ;;
	--iface | --add-iface | --remove-iface)
		_netsegctl_add $(ls /sys/class/net 2>/dev/null)
		return 0 ;;
	--cgroup | --add-cgroup | --remove-cgroup)
		_netsegctl_files -d
		return 0 ;;
	-n | --namespace)
		# get's policy namespace or endpoint label's: those known
		_netsegctl_add $(_netsegctl_k8s_namespaces)
		return 0 ;;
	--comment | --cidr | --add-cidr | --remove-cidr | --expect-revision | --since | \
	--port | --last | --selector | --namespace)
		# typed: a label selector, a namespace
		return 0 ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_netsegctl_add $globals
		else
			_netsegctl_add $commands
		fi
		return 0
	fi
	if [[ $cur == -* ]]; then
		case $cmd in
		identity)
			[[ $sub == add ]] && _netsegctl_add --iface --cgroup --cidr --selector \
				--namespace --audit
			[[ $sub == set ]] && _netsegctl_add --audit --add-cidr --remove-cidr \
				--add-iface --remove-iface --add-cgroup --remove-cgroup --selector \
				--namespace --remove-selector ;;
		endpoint) [[ $sub == label ]] && _netsegctl_add --namespace ;;
		allow) _netsegctl_add --audit --log --comment ;;
		rule) [[ $sub == set ]] && _netsegctl_add --audit --log --comment ;;
		deny) _netsegctl_add --log --comment ;;
		apply) _netsegctl_add -f --file --dry-run --expect-revision ;;
		diff) _netsegctl_add -f --file ;;
		delete) _netsegctl_add -f --file --ignore-not-found -n --namespace ;;
		get) _netsegctl_add -n --namespace -A --all-namespaces ;;
		prefilter) [[ $sub == apply ]] && _netsegctl_add -f --file --dry-run ;;
		check) _netsegctl_add -f --file --offline ;;
		trace) _netsegctl_add --exit-code ;;
		flows) _netsegctl_add --follow --verdict --identity --rule --no-color ;;
		observe) _netsegctl_add --from --to --port --verdict --since --last --follow \
			--no-color ;;
		map) _netsegctl_add --since --output-file ;;
		suggest) _netsegctl_add --since --identity --diff --apply --expect-revision ;;
		esac
		_netsegctl_add -o --output -s --socket -v --verbose --help
		return 0
	fi
	case $cmd in
	identity)
		if [[ -z $sub ]]; then
			_netsegctl_add add list remove set
		elif [[ $sub == @(remove|rm|del|delete|set) && $nargs -eq 0 ]]; then
			_netsegctl_add $(_netsegctl_names)
		fi ;;
	endpoint)
		if [[ -z $sub ]]; then
			_netsegctl_add label list unlabel
		elif [[ $sub == @(label|unlabel) && $nargs -eq 0 ]]; then
			_netsegctl_add $(ls /sys/class/net 2>/dev/null)
		fi ;;
	delete)
		# kubectl's forms; a rule id, as remove
		if [[ -n $has_file ]]; then
			:
		elif [[ -z $sub ]]; then
			_netsegctl_add -f networkpolicy netpol namespace ns $(_netsegctl_ids)
		elif [[ $nargs -eq 0 && $sub == @(networkpolicy|networkpolicies|netpol) ]]; then
			_netsegctl_add $(_netsegctl_k8s_policies)
		elif [[ $nargs -eq 0 && $sub == @(namespace|namespaces|ns) ]]; then
			_netsegctl_add $(_netsegctl_k8s_namespaces)
		fi ;;
	get)
		[[ -z $sub ]] && _netsegctl_add networkpolicies netpol namespaces ns ;;
	rule)
		if [[ -z $sub ]]; then
			_netsegctl_add set
		elif [[ $nargs -eq 0 ]]; then
			_netsegctl_add $(_netsegctl_ids)
		fi ;;
	prefilter)
		if [[ -z $sub ]]; then
			_netsegctl_add add remove list apply
		elif [[ $sub == remove && $nargs -eq 0 ]]; then
			_netsegctl_add $(_netsegctl_query cidr prefilter list)
		elif [[ $sub == apply && $nargs -eq 0 ]]; then
			_netsegctl_add -f
		fi ;;
	node)
		[[ -z $sub ]] && _netsegctl_add list ;;
	logs)
		if [[ -z $sub ]]; then
			_netsegctl_add verify
		else
			_netsegctl_files
		fi ;;
	allow | deny)
		# The source, and the destination after '->' or 'to'.
		if [[ $prev == '>' || $prev == to || $nargs -eq 0 ]]; then
			_netsegctl_selectors
		fi ;;
	remove | rm | del)
		[[ $nargs -eq 0 ]] && _netsegctl_add $(_netsegctl_ids) ;;
	trace)
		if ((nargs < 2)); then
			_netsegctl_selectors
		elif ((nargs == 2)); then
			compopt -o nospace 2>/dev/null
			_netsegctl_add tcp/ udp/ sctp/ icmp/ icmpv6/
		fi ;;
	attach | detach)
		[[ $nargs -eq 0 ]] && _netsegctl_add $(ls /sys/class/net 2>/dev/null) ;;
	apply | diff | check)
		[[ $prev != -f && $prev != --file ]] && ((nargs == 0)) && _netsegctl_add -f ;;
	esac
	return 0
}
complete -F _netsegctl netsegctl
