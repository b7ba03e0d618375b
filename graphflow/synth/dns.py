"""Passive DNS for the synthetic network: a Zeek ``dns.log`` matching the conn.log.

Workstations ask the internal resolver (``ns01``) for the names of the servers and external
hosts they talk to: every named address of the :class:`~graphflow.synth.network.AddressBook`
is resolved one to three times over the period (``A`` or ``AAAA``), CDN edges through a CNAME,
and the monitoring server looks a few servers up by address (``PTR``). Some queries fail
(``NXDOMAIN``, no answers). Names are escaped as Zeek does (``\\x2c`` for a comma inside the
``answers`` set, ``\\xNN`` for non-ASCII bytes), so the hostile names survive a round trip.

Same seed, byte-identical file; TSV or JSON lines like the conn.log.

Examples
--------
>>> import tempfile
>>> from graphflow.synth.model import GeneratorConfig
>>> from graphflow.synth.network import build_world
>>> w = build_world(GeneratorConfig(days=8, flows_per_day=300))
>>> with tempfile.TemporaryDirectory() as d:
...     n = write_dns_log(w, Path(d))
...     head = (Path(d) / "dns.log").read_text().splitlines()[6].split("\\t")[:4]
>>> n > 1000, head
(True, ['#fields', 'ts', 'uid', 'id.orig_h'])
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from pathlib import Path

from graphflow.synth.network import World, rng_for

__all__ = ["DNS_FIELDS", "write_dns_log"]

DNS_FIELDS: tuple[str, ...] = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
    "rtt", "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name",
    "AA", "TC", "RD", "RA", "Z", "answers", "TTLs", "rejected",
)
DNS_TYPES: tuple[str, ...] = (
    "time", "string", "addr", "port", "addr", "port", "enum", "count", "interval", "string",
    "count", "string", "count", "string", "count", "string", "bool", "bool", "bool", "bool",
    "count", "vector[string]", "vector[interval]", "bool",
)
_QTYPE = {"A": 1, "AAAA": 28, "PTR": 12, "CNAME": 5}
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _esc(text: str, in_set: bool) -> str:
    """Zeek ASCII escaping: backslash, tab, newline, non-printable and non-ASCII as \\xNN;
    the set separator too inside a set element."""
    out = []
    for b in text.encode("utf-8"):
        ch = chr(b)
        if b < 0x20 or b >= 0x7F or ch == "\\" or (in_set and ch == ","):
            out.append(f"\\x{b:02x}")
        else:
            out.append(ch)
    return "".join(out)


def _ptr_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def write_dns_log(w: World, out_dir: Path) -> int:
    """Write ``out_dir/dns.log`` for the world ``w``; returns the number of records."""
    cfg = w.cfg
    rng = rng_for(cfg.seed, "dns")
    start = dt.datetime.fromisoformat(cfg.start).replace(tzinfo=dt.UTC)
    t0 = int(start.timestamp())
    span = cfg.days * 86400
    resolver = w.addr(w.idx("ns01"))
    monitor = w.addr(w.idx("mon01"))
    clients = [w.addr(int(u)) for u in w.users]
    cdn = set(int(i) for i in w.pools["cdn"])
    records: list[tuple[float, str, str, str, list[str], str]] = []
    # forward lookups of every named address
    for i in sorted(w.book.names):
        ip, name = w.addr(i), w.book.names[i]
        qtype = "AAAA" if ":" in ip else "A"
        for _ in range(int(rng.integers(1, 4))):
            ts = t0 + float(rng.integers(0, span * 1_000_000)) / 1e6
            client = clients[int(rng.integers(len(clients)))]
            if i in cdn:
                alias = f"static-{i % 7}.shop-assets.example"
                records.append((ts, client, alias, qtype, [name, ip], "NOERROR"))
            else:
                records.append((ts, client, name, qtype, [ip], "NOERROR"))
    # reverse lookups by the monitoring server
    for h in sorted(w.hosts.values(), key=lambda h: h.idx):
        if ":" not in h.ip and rng.random() < 0.5:
            ts = t0 + float(rng.integers(0, span * 1_000_000)) / 1e6
            records.append((ts, monitor, _ptr_name(h.ip), "PTR", [w.book.names[h.idx]],
                            "NOERROR"))
    # failed lookups
    for k in range(20):
        ts = t0 + float(rng.integers(0, span * 1_000_000)) / 1e6
        client = clients[int(rng.integers(len(clients)))]
        records.append((ts, client, f"wpad-{k}.{cfg.domain}", "A", [], "NXDOMAIN"))
    records.sort(key=lambda r: r[0])
    lines = []
    if cfg.fmt == "tsv":
        lines += ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                  "#unset_field\t-", "#path\tdns", f"#open\t{start:%Y-%m-%d-%H-%M-%S}",
                  "#fields\t" + "\t".join(DNS_FIELDS), "#types\t" + "\t".join(DNS_TYPES)]
    for ts, client, query, qtype, answers, rcode in records:
        uid = "C" + "".join(_B62[int(x)] for x in rng.integers(0, 62, 17))
        sport = int(rng.integers(49152, 65536))
        trans = int(rng.integers(0, 65536))
        rtt = float(rng.uniform(0.0005, 0.05))
        ttls = [float(x) for x in rng.integers(60, 3600, len(answers))]
        rc = 0 if rcode == "NOERROR" else 3
        if cfg.fmt == "tsv":
            ans = ",".join(_esc(a, True) for a in answers) if answers else "-"
            ttl = ",".join(f"{t:.6f}" for t in ttls) if ttls else "-"
            row = [f"{ts:.6f}", uid, client, str(sport), resolver, "53", "udp", str(trans),
                   f"{rtt:.6f}", _esc(query, False), "1", "C_INTERNET", str(_QTYPE[qtype]),
                   qtype, str(rc), rcode, "F", "F", "T", "T", "0", ans, ttl, "F"]
            lines.append("\t".join(row))
        else:
            doc: dict[str, object] = {
                "ts": round(ts, 6), "uid": uid, "id.orig_h": client, "id.orig_p": sport,
                "id.resp_h": resolver, "id.resp_p": 53, "proto": "udp", "trans_id": trans,
                "rtt": round(rtt, 6), "query": query, "qclass": 1, "qclass_name": "C_INTERNET",
                "qtype": _QTYPE[qtype], "qtype_name": qtype, "rcode": rc, "rcode_name": rcode,
                "AA": False, "TC": False, "RD": True, "RA": True, "Z": 0, "rejected": False}
            if answers:
                doc["answers"] = answers
                doc["TTLs"] = ttls
            lines.append(json.dumps(doc))
    if cfg.fmt == "tsv":
        end = start + dt.timedelta(days=cfg.days)
        lines.append(f"#close\t{end:%Y-%m-%d-%H-%M-%S}")
    (Path(out_dir) / "dns.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(records)
