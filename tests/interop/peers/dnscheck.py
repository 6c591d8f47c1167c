#!/usr/bin/python3
"""Ask the netns resolver (first nameserver of /etc/resolv.conf) for SRV and A
records with a raw UDP query: no dnspython/dig needed.

  dnscheck.py NAME TYPE [EXPECT]   TYPE: SRV | A ; EXPECT: substring that must be
                                   in the answer, or NXDOMAIN
Prints rcode and answers; exit 0 if EXPECT (if given) matched.
"""
import random
import socket
import struct
import sys

TYPES = {"A": 1, "SRV": 33, "AAAA": 28}
RCODES = {0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN", 5: "REFUSED"}


def nameserver():
    with open("/etc/resolv.conf") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1]
    return "127.0.0.1"


def name_at(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack("!H", msg[off:off + 2])[0] & 0x3FFF
            labels.append(name_at(msg, ptr)[0])
            return ".".join(labels), off + 2
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode())
        off += n


def query(name, qtype, server, timeout=3.0):
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack("!HH", TYPES[qtype], 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(q, (server, 53))
    msg, _ = s.recvfrom(4096)
    rid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    assert rid == qid
    off = 12
    for _ in range(qd):
        _, off = name_at(msg, off)
        off += 4
    answers = []
    for _ in range(an):
        _, off = name_at(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        if rtype == 1:
            answers.append(socket.inet_ntoa(rd))
        elif rtype == 33:
            prio, weight, port = struct.unpack("!HHH", rd[:6])
            answers.append("%d %d %d %s" % (prio, weight, port, name_at(msg, off + 6)[0]))
        off += rdlen
    return RCODES.get(flags & 0xF, str(flags & 0xF)), answers


def main():
    name, qtype = sys.argv[1], sys.argv[2].upper()
    expect = sys.argv[3] if len(sys.argv) > 3 else None
    rcode, answers = query(name, qtype, nameserver())
    print("%s %s -> %s %s" % (name, qtype, rcode, answers))
    if expect is None:
        sys.exit(0)
    ok = rcode == expect if expect in RCODES.values() else any(expect in a for a in answers)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
