"""Build a workspace from the generator, with a hosts table made from its side files.

The hosts table here is built directly from assets.json / whitelist.txt / names.csv; the
enrichment layer (graphflow enrich) produces the same columns for real inventories.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from graphflow.db import connect
from graphflow.generate import GeneratorConfig, generate
from graphflow.hosts import enrich
from graphflow.ingestion import ingest_files
from graphflow.schema import HOST_FIELDS
from graphflow.workspace import Workspace


def write_hosts(ws: Workspace, gen_dir: Path) -> None:
    assets = json.loads((gen_dir / "assets.json").read_text())
    own = [ipaddress.ip_network(n) for n in assets["own_networks"]]
    by_ip = {a["ip"]: a for a in assets["assets"]}
    wl = [ipaddress.ip_network(line.strip(), strict=False)
          for line in (gen_dir / "whitelist.txt").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    names: dict[str, list[str]] = {}
    with open(gen_dir / "names.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names.setdefault(row["ip"], []).append(row["name"])
    con = connect(ws)
    ips = [r[0] for r in con.execute("SELECT src_ip FROM edges UNION SELECT dst_ip FROM edges")
           .fetchall()]
    con.close()
    rows: list[dict[str, Any]] = []
    for ip in ips:
        a = ipaddress.ip_address(ip)
        asset = by_ip.get(ip, {})
        dns = names.get(ip)
        domain = ".".join(dns[0].rstrip(".").split(".")[-2:]) if dns else None
        rows.append({
            "ip": ip, "ip_version": a.version,
            "own": any(a.version == n.version and a in n for n in own),
            "hva": asset.get("criticality") == "high", "role": asset.get("role"),
            "name": asset.get("name"), "owner": asset.get("owner"),
            "criticality": asset.get("criticality"),
            "whitelisted": any(a.version == n.version and a in n for n in wl),
            "country": None, "country_name": None, "city": None, "asn": None, "as_org": None,
            "dns": dns, "domain": domain,
            "address_class": "private" if a.is_private else "public",
        })
    schema = pa.schema([f.arrow() for f in HOST_FIELDS])
    table = pa.Table.from_pylist(rows, schema=schema)
    tmp = Path(tempfile.mkdtemp(dir=ws.root)) / "hosts.parquet"
    pq.write_table(table, tmp)
    old = {p.name for p in (ws.version_dir / "hosts").glob("*.parquet")}
    ws.commit(add={"hosts": [(tmp, "hosts.parquet")]}, drop={"hosts": old}, ledger=ws.ledger())
    tmp.parent.rmdir()


def generated_workspace(root: Path, seed: int, flows_per_day: int = 3000,
                        days: int = 14) -> tuple[Workspace, dict[str, Any]]:
    gen = root / f"gen-{seed}"
    generate(GeneratorConfig(seed=seed, days=days, flows_per_day=flows_per_day), gen)
    ws = Workspace.open(root / f"ws-{seed}")
    ingest_files([gen / "conn.log"], ws)
    enrich(ws, assets=str(gen / "assets.json"), whitelist=str(gen / "whitelist.txt"),
           names=(str(gen / "names.csv"),), dns_logs=(str(gen / "dns.log"),),
           default_city_db=False)
    truth = json.loads((gen / "ground_truth.json").read_text())
    return ws, truth
