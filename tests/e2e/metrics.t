#!/usr/bin/env bash
# Prometheus metrics: netsegd serves /metrics on the node's loopback; a
# denied connection moves the default-deny drop counter of its direction
# (a pod's own packets: egress; the node's to a pod: ingress) and the rule
# counters, promtool accepts the text, and Debian's real Prometheus server
# scrapes it and answers a query for the series.  Bad listen settings are
# refused at start; the Grafana dashboard parses.
. "$(dirname "$0")/../lib/netns.sh"
need_root
for t in curl promtool prometheus python3; do
	command -v $t >/dev/null || bail "missing $t: run 'make deps'"
done

python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"]' \
	"$NS_TOP/configs/grafana-netseg.json"
ok $? "configs/grafana-netseg.json parses as a dashboard with panels"

frontend_api_pods
PORT=9464
scrape() { nsx "$NODE" timeout 5 curl -sf "http://127.0.0.1:$PORT/metrics"; }
val() {	# val SERIES: its value in the last scrape ($T/m), 0 when absent
	awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }' "$T/m"
}

# ---- bad settings: refused with what and why
printf '{"metrics": {"listen": "127.0.0.1"}}' >"$T/bad1.json"
nsenter --net="/run/netns/$NODE" timeout 20 "$NETSEGD" -c "$T/bad1.json" --state-dir "$T/state" \
	--run-dir "$T/run" --bpffs "$T/bpf/netseg" >"$T/bad1.out" 2>&1; st=$?
[ $st -ne 0 ] && grep -q '"metrics": "listen" "127.0.0.1" is not ADDR:PORT' "$T/bad1.out"
ok $? "listen without a port refused (exit $st): $(head -1 "$T/bad1.out")"
printf '{"metrics": {"listen": "localhost:9464"}}' >"$T/bad2.json"
nsenter --net="/run/netns/$NODE" timeout 20 "$NETSEGD" -c "$T/bad2.json" --state-dir "$T/state" \
	--run-dir "$T/run" --bpffs "$T/bpf/netseg" >"$T/bad2.out" 2>&1; st=$?
[ $st -ne 0 ] && grep -q 'not an IPv4 or IPv6 address' "$T/bad2.out"
ok $? "a host name refused (exit $st)"
printf '{"metrics": {"listen": "127.0.0.1:9464", "path": "/x"}}' >"$T/bad3.json"
nsenter --net="/run/netns/$NODE" timeout 20 "$NETSEGD" -c "$T/bad3.json" --state-dir "$T/state" \
	--run-dir "$T/run" --bpffs "$T/bpf/netseg" >"$T/bad3.out" 2>&1; st=$?
[ $st -ne 0 ] && grep -q 'unknown setting "path"' "$T/bad3.out"
ok $? "an unknown metrics setting refused (exit $st)"

# port in use: a listener of our own holds it, in the node namespace
nsx "$NODE" timeout 60 socat TCP-LISTEN:9465,bind=127.0.0.1,reuseaddr,fork - \
	</dev/null >/dev/null 2>&1 &
disown $!
for _ in $(seq 50); do nsx "$NODE" ss -Hltn | grep -q 127.0.0.1:9465 && break; sleep 0.1; done
printf '{"metrics": {"listen": "127.0.0.1:9465"}}' >"$T/busy.json"
nsenter --net="/run/netns/$NODE" timeout 60 "$NETSEGD" -c "$T/busy.json" --state-dir "$T/state" \
	--run-dir "$T/run" --bpffs "$T/bpf/netseg" >"$T/busy.out" 2>&1; st=$?
[ $st -ne 0 ] && grep -q "metrics: couldn't listen on 127.0.0.1:9465: Address already in use" \
	"$T/busy.out"
ok $? "port in use refused at start (exit $st): $(grep metrics "$T/busy.out" | head -1)"

# ---- the real thing
cat >"$T/netsegd.json" <<EOF
{ "node_name": "node-$RUN", "metrics": { "listen": "127.0.0.1:$PORT" },
  "flow_logs": [ { "type": "file", "path": "$T/flows.log", "format": "json" } ] }
EOF
start_daemon -c "$T/netsegd.json"; ok $? "netsegd starts with metrics on 127.0.0.1:$PORT"
scrape >"$T/m"; ok $? "GET /metrics answers"
dd0=$(val 'netseg_drop_count_total{reason="default-deny",direction="egress"}')
di0=$(val 'netseg_drop_count_total{reason="default-deny",direction="ingress"}')
code=$(nsx "$NODE" timeout 5 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/x")
is "$code" 404 "other paths: 404"

ctl identity add frontend --iface "$(pod_if frontend)" --cidr 198.18.1.2/32 >/dev/null
ctl identity add api --iface "$(pod_if api)" --cidr 198.18.2.2/32 >/dev/null
ctl allow 'frontend->api:443' >/dev/null; ok $? "allow frontend->api:443"
for _ in 1 2 3; do reach frontend 198.18.2.2 443; done
reach frontend 198.18.2.2 8080; ok $((! $?)) "frontend->api:8080 denied"
sleep 1.5	# the GC walk (1 s tick) updates conntrack fill

scrape >"$T/m"; ok $? "GET /metrics after traffic"
dd1=$(val 'netseg_drop_count_total{reason="default-deny",direction="egress"}')
di1=$(val 'netseg_drop_count_total{reason="default-deny",direction="ingress"}')
[ "$dd1" -gt "$dd0" ] && [ "$di1" -eq "$di0" ]
ok $? "frontend's denied SYNs (dropped at its veth as it sent them) count as egress: $dd0 -> $dd1, ingress $di0 -> $di1"
[ "$(val 'netseg_drop_bytes_total{reason="default-deny",direction="egress"}')" -gt 0 ]
ok $? "default-deny drop bytes counted"
# The node is no endpoint: its SYN to api is dropped at api's veth, on the way in.
nsx "$NODE" timeout 2 socat -T1 - TCP:198.18.2.2:8080,connect-timeout=1 </dev/null >/dev/null 2>&1
ok $((! $?)) "node->api:8080 denied"
scrape >"$T/m"
di2=$(val 'netseg_drop_count_total{reason="default-deny",direction="ingress"}')
[ "$di2" -gt "$di1" ]; ok $? "the node's denied SYNs to api count as ingress: $di1 -> $di2"
! grep -E '^netseg_drop_(count|bytes)_total\{[^}]*direction="any"' "$T/m" >/dev/null
ok $? "no drop series without a direction"
grep -c '^netseg_drop_count_total{' "$T/m" | grep -qx 16
ok $? "every reason twice, ingress and egress: $(grep -c '^netseg_drop_count_total{' "$T/m") series"
[ "$(val 'netseg_pass_count_total{reason="policy",direction="any"}')" -gt 0 ]; ok $? "passes counted"
[ "$(val 'netseg_drop_count_total{reason="policy",direction="ingress"}')" -eq 0 ] &&
	[ "$(val 'netseg_drop_count_total{reason="policy",direction="egress"}')" -eq 0 ]
ok $? "no deny rule: policy drops stay 0"
grep -q '^netseg_rule_packets_total{rule="0"} [1-9]' "$T/m"; ok $? "default deny's rule=\"0\" hits"
grep -Eq '^netseg_rule_packets_total\{rule="[1-9][0-9]*"\} [1-9]' "$T/m"
ok $? "the allow rule's hits, by id: $(grep -E '^netseg_rule_packets_total\{rule="[1-9]' "$T/m" | head -1)"
[ "$(val netseg_conntrack_max)" -gt 0 ] && [ "$(val netseg_conntrack_entries)" -gt 0 ]
ok $? "conntrack fill: $(val netseg_conntrack_entries) of $(val netseg_conntrack_max)"
[ "$(val netseg_identities)" -ge 2 ] && [ "$(val netseg_endpoints)" -ge 2 ]
ok $? "identities $(val netseg_identities), endpoints $(val netseg_endpoints)"
[ "$(val netseg_policy_revision)" -ge 1 ] && [ "$(val netseg_policy_apply_duration_seconds_count)" -ge 1 ]
ok $? "revision $(val netseg_policy_revision), $(val netseg_policy_apply_duration_seconds_count) applies timed"
grep -q '^netseg_flowlog_written_total{sink="' "$T/m"; ok $? "flow-log sink counters, by sink"
grep -q '^netseg_events_lost_total{cause="ring"} ' "$T/m" &&
	grep -q '^netseg_events_lost_total{cause="rate_limit"} ' "$T/m"
ok $? "events lost, by cause"
grep -q '^netseg_build_info{version="[^"]*"} 1$' "$T/m"; ok $? "build info"
promtool check metrics <"$T/m" >"$T/promtool.out" 2>&1; st=$?
[ $st -eq 0 ] && [ ! -s "$T/promtool.out" ]
ok $? "promtool check metrics: clean (exit $st) $(head -3 "$T/promtool.out")"

# A client that connects and says nothing doesn't hold up the daemon.
nsx "$NODE" timeout 20 socat -T15 - "TCP:127.0.0.1:$PORT" </dev/null >/dev/null 2>&1 &
disown $!
sleep 0.3
timeout 5 "$NETSEGCTL" -s "$T/run/netsegd.sock" status >/dev/null
ok $? "a silent HTTP client doesn't block the control socket"
scrape >/dev/null; ok $? "nor other scrapes"

# ---- Debian's Prometheus, on the node's loopback, scraping every second
printf '%s\n' 'global: { scrape_interval: 1s, evaluation_interval: 1s }' \
	'scrape_configs:' '  - job_name: netseg' \
	"    static_configs: [ { targets: [ \"127.0.0.1:$PORT\" ] } ]" >"$T/prom.yml"
nsx "$NODE" timeout 90 prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address=127.0.0.1:9090 >"$T/prom.log" 2>&1 </dev/null &
disown $!
got=
for _ in $(seq 60); do
	got=$(nsx "$NODE" timeout 3 curl -sfG 'http://127.0.0.1:9090/api/v1/query' \
		--data-urlencode 'query=netseg_drop_count_total{reason="default-deny"}' 2>/dev/null)
	grep -q '"result":\[{' <<<"$got" && break
	sleep 1
done
grep -q '"reason":"default-deny"' <<<"$got" && grep -q '"job":"netseg"' <<<"$got"
ok $? "Prometheus scraped netsegd and answers the query: ${got:0:200}"
up=$(nsx "$NODE" timeout 3 curl -sfG 'http://127.0.0.1:9090/api/v1/query' --data-urlencode 'query=up{job="netseg"}')
grep -q '"value":\[[0-9.]*,"1"\]' <<<"$up"; ok $? "its target is up"

# ---- SIGHUP: a new listen address needs a restart, and says so
sed -i "s/127.0.0.1:$PORT/127.0.0.1:9466/" "$T/netsegd.json"
kill -HUP "$DAEMON_PID"
for _ in $(seq 50); do grep -q 'SIGHUP: reloaded' "$T/netsegd.log" && break; sleep 0.1; done
grep -q 'SIGHUP: "metrics" changed; takes effect when netsegd restarts' "$T/netsegd.log"
ok $? "SIGHUP: a listen change is said to need a restart"
scrape >/dev/null; ok $? "and the old address still serves"

stop_daemon; ok $? "netsegd stops"
done_testing
