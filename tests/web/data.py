"""The web tests' workspace: generated flows, a planted hostile name, and a hosts table.

The hosts table is rebuilt here from the generator's side files (``assets.json``,
``names.csv``, ``whitelist.txt``) in the canonical :data:`graphflow.schema.HOST_SCHEMA`,
replacing the one the ingest's enrichment wrote, so the UI's hosts features are tested with
known values: GeoIP/ASN are synthetic (derived from the first octet), and the DNS names and
domain of the planted scanner are hostile. Hostile strings are planted where an
analyst sees them: the planted scanner's DNS names and domain, the service of its flows, and
the name of the file the flows were read from.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from graphflow.db import connect
from graphflow.generate import GeneratorConfig, generate
from graphflow.ingestion import ingest_files
from graphflow.schema import HOST_SCHEMA
from graphflow.workspace import Workspace

HOSTILE_DNS = ("<img src=x onerror=alert(1)>", '"><script>alert(2)</script>')
HOSTILE_DOMAIN = '"><img src=x onerror=alert(3)>.example'
HOSTILE_SERVICE = "<img src=x onerror=alert(5)>"
HOSTILE_FILE = 'conn-"><img src=x onerror=alert(4)>.log'
COUNTRIES = (("DE", "Germany"), ("US", "United States"), ("FR", "France"), ("JP", "Japan"),
             ("BR", "Brazil"))


@dataclass(frozen=True)
class WebData:
    root: Path
    ws: Path
    data: Path
    scanner: str
    flows: int
    truth: dict


def _zeek_rewrite(src: Path, dst: Path, scanner: str) -> None:
    """Copy a Zeek TSV conn.log, setting the scanner's flows' service to a hostile string."""
    orig = service = -1
    with src.open(encoding="utf-8") as fin, dst.open("w", encoding="utf-8") as fout:
        for line in fin:
            if line.startswith("#fields"):
                names = line.rstrip("\n").split("\t")[1:]
                orig, service = names.index("id.orig_h"), names.index("service")
            elif not line.startswith("#") and orig >= 0:
                cols = line.rstrip("\n").split("\t")
                if cols[orig] == scanner:
                    cols[service] = HOSTILE_SERVICE
                    line = "\t".join(cols) + "\n"
            fout.write(line)


def _in_any(ip: str, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    a = ipaddress.ip_address(ip)
    return any(a.version == n.version and a in n for n in nets)


def _address_class(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    for name in ("loopback", "multicast", "link_local", "reserved"):
        if getattr(a, f"is_{name}"):
            return name.replace("_", "-")
    return "private" if a.is_private else ("public" if a.is_global else "documentation")


def write_hosts(ws: Workspace, data: Path, scanner: str) -> Path:
    assets = json.loads((data / "assets.json").read_text(encoding="utf-8"))
    own = [ipaddress.ip_network(n) for n in assets["own_networks"]]
    by_ip = {a["ip"]: a for a in assets["assets"]}
    hvas = set(assets["hvas"])
    white = [ipaddress.ip_network(line.strip(), strict=False)
             for line in (data / "whitelist.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    with (data / "names.csv").open(newline="", encoding="utf-8") as fh:
        names = {r["ip"]: r["name"] for r in csv.DictReader(fh)}
    con = connect(ws)
    try:
        ips = [r[0] for r in con.execute(
            "SELECT src_ip FROM edges UNION SELECT dst_ip FROM edges ORDER BY 1").fetchall()]
    finally:
        con.close()
    rows = []
    for ip in ips:
        a = ipaddress.ip_address(ip)
        asset = by_ip.get(ip, {})
        is_own = _in_any(ip, own)
        dns = list(HOSTILE_DNS) if ip == scanner else ([names[ip]] if ip in names else None)
        domain = HOSTILE_DOMAIN if ip == scanner else (
            ".".join(dns[0].split(".")[-2:]) if dns else None)
        public = not is_own and a.is_global
        first = int(ip.split(".")[0]) if a.version == 4 else int(ip.split(":")[0] or "0", 16)
        country = COUNTRIES[first % len(COUNTRIES)] if public else (None, None)
        asn = 64500 + first % 20 if public else None
        rows.append({
            "ip": ip, "ip_version": a.version, "own": is_own, "hva": ip in hvas,
            "role": asset.get("role"), "name": asset.get("name"), "owner": asset.get("owner"),
            "criticality": asset.get("criticality"), "whitelisted": _in_any(ip, white),
            "country": country[0], "country_name": country[1], "city": None,
            "asn": asn, "as_org": f"Synthetic AS{asn}" if asn else None,
            "dns": dns, "domain": domain, "address_class": _address_class(a),
        })
    # replaces the table the ingest's enrichment committed (same place, same schema)
    out = ws.version_dir / "hosts" / "hosts.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name("hosts.parquet.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=HOST_SCHEMA), tmp)
    tmp.replace(out)
    return out


def build(root: Path, *, days: int = 8, flows_per_day: int = 4000, seed: int = 42,
          hosts: bool = True) -> WebData:
    """Generate, plant the hostile strings, ingest, and (by default) write the hosts table."""
    data = root / "data"
    truth = generate(GeneratorConfig(seed=seed, days=days, flows_per_day=flows_per_day), data)
    doc = truth.to_dict()
    scanner = next(p["entity"] for p in doc["positives"]
                   if p["analysis"] == "fanout_scanners" and p["planted_as"] == "fanout_scanners"
                   and not p["entity"].startswith("10."))
    hostile = data / HOSTILE_FILE
    _zeek_rewrite(data / "conn.log", hostile, scanner)
    (data / "conn.log").unlink()
    ws = Workspace.open(root / "ws")
    report = ingest_files([hostile], ws)
    assert not report.errors and report.rejected == 0, report.to_dict()
    if hosts:
        write_hosts(ws, data, scanner)
    return WebData(root=root, ws=ws.root, data=data, scanner=scanner, flows=report.loaded,
                   truth=doc)
