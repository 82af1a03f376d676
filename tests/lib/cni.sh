# tests/lib/cni.sh, sourced after netns.sh: what the tests that make pods
# through a CNI chain share.  The chain is Debian's ptp with host-local
# IPAM, then netseg-cni, run by tests/lib/cni-run.sh from inside the node
# namespace as a runtime would (Debian ships no cnitool).

CNI_RUNNER="$NS_TOP/tests/lib/cni-run.sh"
export CNI_CACHE_DIR="$T/cache" CNI_PATH="$NS_TOP/cni:/usr/lib/cni"

need_cni() {	# the plugins and tools, or bail
	[ -x "$NS_TOP/cni/netseg-cni" ] || bail "build first: make"
	local p
	for p in ptp host-local; do
		[ -x "/usr/lib/cni/$p" ] || bail "missing /usr/lib/cni/$p: run 'make deps' (containernetworking-plugins)"
	done
	command -v jq >/dev/null || bail "missing jq: run 'make deps'"
}

# cni_conflist FILE SUBNET [TIMEOUT_MS|none] [ROUTES]: a conflist of ptp +
# host-local on SUBNET (its .1 the pods' gateway on the node), then
# netseg-cni on the daemon's socket with TIMEOUT_MS (default 20000; "none"
# leaves netseg-cni out).  ROUTES: host-local's "routes" JSON list.
cni_conflist() {
	local file=$1 subnet=$2 timeout=${3:-20000} routes=${4:-} netseg=
	[ "$timeout" = none ] ||
		netseg=", { \"type\": \"netseg-cni\", \"socket\": \"$T/run/netsegd.sock\", \"timeout_ms\": $timeout }"
	cat >"$file" <<-EOF
	{
	  "cniVersion": "1.0.0",
	  "name": "$(basename "$file" .conflist)-$RUN",
	  "plugins": [
	    { "type": "ptp", "ipMasq": false,
	      "ipam": { "type": "host-local", "dataDir": "$T/ipam",
	                "ranges": [[{ "subnet": "$subnet" }]]${routes:+, \"routes\": $routes} } }$netseg
	  ]
	}
	EOF
}

# chain ADD|CHECK|DEL CONFLIST CONTAINER NETNS_PATH: the plugins' messages
# go to $T/chain.err, not into TAP.
chain() { nsx "$NODE" "$CNI_RUNNER" "$@" 2>>"$T/chain.err"; }
