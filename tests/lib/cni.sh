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

# cni_plugin NODE_NS SOCKET CMD CONTAINER NETNS K8S_NAMESPACE POD LABELS HOST ADDR...:
# netseg-cni alone, as a runtime calls it after the main plugin made the
# pod's veth HOST (in NODE_NS) and gave the pod ADDR... (CIDR form): the
# prevResult ptp would hand on.  For pods whose veths the caller made in
# bulk (ptp takes ~0.5 s a pod here).  LABELS: "k=v,k2=v2".  The plugin's
# result is dropped; its error object and exit status are the caller's.
cni_plugin() {
	local node=$1 sock=$2 cmd=$3 cid=$4 netns=$5 kns=$6 pod=$7 labels=$8 host=$9
	shift 9
	jq -n --arg sock "$sock" --arg h "$host" --arg ns "$netns" --arg labels "$labels" '{
		cniVersion: "1.0.0", name: "bulk", type: "netseg-cni", socket: $sock,
		args: {cni: {labels: ($labels | split(",") | map(split("=") |
			{key: .[0], value: (.[1:] | join("="))}))}},
		prevResult: {cniVersion: "1.0.0",
			interfaces: [{name: $h}, {name: "eth0", sandbox: $ns}],
			ips: ($ARGS.positional | map({address: ., interface: 1}))}}' --args "$@" |
	nsx "$node" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_NETNS="$netns" \
		CNI_IFNAME=eth0 CNI_PATH="$NS_TOP/cni" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$kns;K8S_POD_NAME=$pod" \
		"$NS_TOP/cni/netseg-cni" >/dev/null
}
