# shellcheck shell=bash
# Baselines: the ceiling (bare XDP_DROP on the node's uplink) and no
# firewall at all (an XDP_PASS program on the uplink, which a veth needs
# to accept redirected frames natively; it only counts).

ceiling_setup() { nsx "$N" "$GEN" sink attach "$UP" drop "$PIN/up"; }
ceiling_drops() { nsx "$N" "$GEN" read "$PIN/up"; }

none_setup() { nsx "$N" "$GEN" sink attach "$UP" pass "$PIN/up"; }
none_drops() { echo 0; }
