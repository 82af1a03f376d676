#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Writes the flowfmt harness's seeds (tests/fuzz/flowfmt.c reads them in
# this layout): a choice byte (record kind = byte % 3, 0x80 lookups fail,
# 0x40 node name), the realtime offset, the interface kind, five names as
# (length/4, bytes), the raw event / conntrack entry / loss counters, then
# bytes for the Community ID seed and, per format, the short buffer and
# the syslog header choices.
#   tests/fuzz/tools/flowfmt-seeds.py DIR
import os, struct, sys

AF4, AF6 = 4, 6   # NETSEG_AF_INET, NETSEG_AF_INET6 (include/netseg/abi.h)

def name(b):
    b = b[: 255 * 4]
    pad = (-len(b)) % 4
    b += b" " * pad
    return bytes([len(b) // 4]) + b

def head(how, names, ifkind=0, off=1700000000 * 10**9):
    return bytes([how]) + struct.pack("<q", off) + bytes([ifkind]) + b"".join(name(n) for n in names)

def event(typ, reason, hook, fam, proto, flags, it, ic, ifindex, rule, src, dst, plen, sa, da, sp, dp):
    return struct.pack("<QQBBBBBBBBIIIII16s16sHHI", 123456789, 0xabcdef, typ, reason, hook, fam,
                       proto, flags, it, ic, ifindex, rule, src, dst, plen, sa, da,
                       sp.to_bytes(2, "big")[0] | sp.to_bytes(2, "big")[1] << 8,
                       dp.to_bytes(2, "big")[0] | dp.to_bytes(2, "big")[1] << 8, 0)

def v4(*o):
    return bytes(o) + bytes(12)

def v6(last):
    return bytes([0xfd]) + bytes(14) + bytes([last])

def ct(fam, proto, a, b, ap, bp, flags, verdict):
    key = struct.pack("<16s16sHHBBH", a, b, ap.to_bytes(2, "big")[0] | ap.to_bytes(2, "big")[1] << 8,
                      bp.to_bytes(2, "big")[0] | bp.to_bytes(2, "big")[1] << 8, proto, fam, 0)
    ent = struct.pack("<QQQQQQQQQIIIIBBBBBBBB", 10**9, 5 * 10**9, 0x42, 3, 7, 10, 8, 1400, 900,
                      300, 2, 4, 7, verdict, 0, 2, flags, 0x12, 0x1b, 2, 0)
    return key + ent

tail = bytes([7]) + bytes([0x10, 0, 16, 6, 1, 1, 1, 0]) * 4
nice = [b"frontend", b"veth-fe1", b"allow frontend -> api:tcp/443 --log", b"web tier", b"node-1"]
hostile = [b"fe|=\\\n\r\"<>\x00\x1b\xff\xc3", b"eth0\x7f\xe2\x80\xa8", b"allow a -> b --comment \"]\\\"\"",
           "c\u00e9\u2028\U0001F600\n|=".encode() + b"\xed\xa0\x80\xc0\xaf", b"host name with spaces\t"]
seeds = {
    "start-v4-tcp": head(0x40, nice) + event(1, 1, 2, AF4, 6, 0x02, 0, 0, 3, 1, 300, 257, 60,
                                            v4(198, 18, 1, 10), v4(198, 18, 1, 20), 40000, 443) + tail,
    "deny-v6-udp": head(0x40, nice, 1) + event(2, 2, 3, AF6, 17, 0, 0, 0, 3, 0, 300, 2, 80,
                                              v6(1), v6(2), 5353, 53) + tail,
    "audit-icmp": head(0x40, hostile) + event(3, 1, 4, AF4, 1, 0, 8, 0, 0, 9, 1, 2, 84,
                                           v4(198, 19, 0, 1), v4(198, 18, 0, 1), 0, 0) + tail,
    "deny-icmpv6": head(0xc0, hostile, 1) + event(2, 3, 1, AF6, 58, 0, 128, 0, 5, 0, 0, 0, 40,
                                               v6(9), v6(10), 0, 0) + tail,
    "malformed": head(0x00, nice) + event(2, 3, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 14, bytes(16), bytes(16), 0, 0) + tail,
    "ct-end-tcp": head(0x41, nice) + ct(AF4, 6, v4(198, 18, 1, 10), v4(198, 18, 1, 20), 443, 40000, 1, 1) + tail,
    "ct-end-v6": head(0x01, hostile) + ct(AF6, 17, v6(3), v6(4), 53, 5353, 0, 3) + tail,
    "lost": head(0x42, nice) + struct.pack("<QQQQ", 1700000000 * 10**9, 10, 20, 30) + tail,
    "lost-max": head(0x02, hostile) + struct.pack("<QQQQ", 2**64 - 1, 2**63, 2**63, 2**63) + tail,
}
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for k, v in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(v)
