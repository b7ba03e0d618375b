"""The hosts table: defaults, remembered settings, rebuilds without touching the flows, the
hosts command and its filters."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from graphflow.cli import main
from graphflow.hosts import build_hosts, hosts_status, load_settings, read_hosts
from graphflow.ingestion import ingest_files
from graphflow.schema import HOST_SCHEMA
from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv
from tests.enrich.conftest import GEOIP

REQUIRED = {"ip", "own", "hva", "role", "name", "country", "country_name", "city", "asn",
            "as_org", "dns", "address_class"}


def _run(*args: str) -> Any:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout) if "--json" in args else res.output


def _digests(ws: Workspace) -> dict[str, str]:
    out = {}
    for table in ("flows", "edges"):
        for f in ws.table_files(table):
            out[f"{table}/{f.parent.name}/{f.name}"] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_default_hosts_table_without_inventory(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text(zeek_tsv(FLOWS))
    ws = tmp_path / "ws"
    ingest_files([tmp_path / "conn.log"], ws)
    hosts = _run("hosts", "-w", str(ws), "--json")  # built on first use
    assert [h["ip"] for h in hosts] == ["10.10.0.1", "10.10.0.10", "10.10.0.11", "10.10.1.5",
                                        "203.0.113.7", "2001:db8::5", "2001:db8::53"]
    assert all(REQUIRED <= set(h) for h in hosts)
    assert [h["own"] for h in hosts] == [True] * 4 + [False] * 3
    assert [h["address_class"] for h in hosts][-3:] == ["documentation"] * 3
    assert not any(h["hva"] or h["role"] for h in hosts)
    assert read_hosts(ws).schema.equals(HOST_SCHEMA)


def test_inventory_change_rebuilds_hosts_not_flows(generated: Path, gen_ws: Workspace,
                                                   tmp_path: Path) -> None:
    w = ["-w", str(gen_ws.root)]
    before = _digests(gen_ws)
    inv = tmp_path / "inventory.yaml"
    _run("assets", "import", str(generated / "assets.json"), "-o", str(inv))
    _run("enrich", *w, "--assets", str(inv), "--names", str(generated / "names.csv"),
         "--city-db", str(GEOIP / "GeoLite2-City-Test.mmdb"),
         "--asn-db", str(GEOIP / "GeoLite2-ASN-Test.mmdb"), "--json")
    first = {h["ip"]: h for h in _run("hosts", *w, "--json")}
    assert first["10.10.11.51"]["hva"] is False and first["10.10.11.51"]["name"] == \
        "db02.corp.example"
    # make db02 a high-value asset and rename it: the next 'hosts' sees the change
    text = inv.read_text(encoding="utf-8").replace(
        "name: db02.corp.example\n  role: database\n  owner: dba\n  criticality: medium",
        "name: db02-renamed.corp.example\n  role: database\n  owner: dba\n  criticality: high")
    assert "db02-renamed" in text
    inv.write_text(text, encoding="utf-8")
    assert any("inventory source changed" in r for r in hosts_status(gen_ws))
    second = {h["ip"]: h for h in _run("hosts", *w, "--json")}
    assert second["10.10.11.51"]["hva"] is True
    assert second["10.10.11.51"]["name"] == "db02-renamed.corp.example"
    assert second["10.10.11.51"]["dns"] == ["db02.corp.example"]
    assert {k for k in first if first[k] != second[k]} == {"10.10.11.51"}
    assert _digests(Workspace.open(gen_ws.root)) == before
    # settings are remembered: a bare 'enrich' keeps every source
    s = load_settings(Workspace.open(gen_ws.root))
    assert s.assets == str(inv) and s.names == (str(generated / "names.csv"),)
    report = _run("enrich", *w, "--json")
    assert report["reread"] == [] and report["hosts"] == len(second)
    assert {h["ip"]: h for h in _run("hosts", *w, "--json")} == second
    assert _digests(Workspace.open(gen_ws.root)) == before


def test_source_gone_uses_the_kept_copy(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([tmp_path / "conn.log"], ws)
    inv = tmp_path / "inv.yaml"
    inv.write_text("own_networks: [10.10.0.0/16]\nassets:\n"
                   "  - {ip: 10.10.0.10, name: hva1, criticality: high}\n")
    wl = tmp_path / "wl.txt"
    wl.write_text("# scanner\n203.0.113.7\n")
    _run("enrich", "-w", str(ws.root), "--assets", str(inv), "--whitelist", str(wl),
         "--no-default-city-db")
    inv.unlink()
    wl.unlink()
    report = build_hosts(ws)
    assert len(report.warnings) == 2 and "no longer there" in report.warnings[0]
    hosts = {h["ip"]: h for h in read_hosts(ws).to_pylist()}
    assert hosts["10.10.0.10"]["hva"] and hosts["203.0.113.7"]["whitelisted"]
    assert not hosts["2001:db8::5"]["own"]


def test_ingest_rebuilds_the_hosts_table(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text(zeek_tsv(FLOWS[:2]))
    (tmp_path / "b.log").write_text(zeek_tsv(FLOWS[2:]))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([tmp_path / "a.log"], ws)
    build_hosts(ws)
    assert hosts_status(ws) == []
    ingest_files([tmp_path / "b.log"], ws)
    assert hosts_status(ws) == []  # ingest rebuilt it with the remembered settings
    hosts = _run("hosts", "-w", str(ws.root), "--json")
    assert "2001:db8::53" in {h["ip"] for h in hosts}


def test_host_filters(generated: Path, gen_ws: Workspace) -> None:
    w = ["-w", str(gen_ws.root)]
    _run("enrich", *w, "--assets", str(generated / "assets.json"), "--whitelist",
         str(generated / "whitelist.txt"), "--dns-log", str(generated / "dns.log"),
         "--no-default-city-db")

    def ips(*args: str) -> list[str]:
        return [h["ip"] for h in _run("hosts", *w, "--json", *args)]

    assert ips("--hva") == ["10.10.10.10", "10.10.10.11", "10.10.10.45", "10.10.11.20",
                            "10.10.11.50"]
    assert ips("--role", "database") == ["10.10.11.50", "10.10.11.51"]
    assert ips("--whitelisted") == ["10.10.10.250", "10.10.10.251"]
    assert ips("--set", "hva", "--role", "database") == ["10.10.11.50"]
    assert ips("--dns", "*.SCAN-provider.example") == ["20.23.114.3", "20.23.114.149",
                                                       "20.23.114.217", "20.23.114.245"]
    assert ips("--cidr", "10.10.11.0/28") == ["10.10.11.10", "10.10.11.11", "10.10.11.12"]
    external = ips("--external", "--class", "benchmark")
    assert external == ["198.18.85.176"]
    own = ips("--own")
    assert len(own) > 400 and all(h["own"] for h in _run("hosts", *w, "--json", "--own"))
    assert len(ips("--limit", "3")) == 3
    table = _run("hosts", *w, "--role", "proxy")
    assert "proxy01.corp.example" in table
    # the workspace copy can be moved: the kept sources travel with it
    moved = gen_ws.root.parent / "moved"
    shutil.move(gen_ws.root, moved)
    assert [h["ip"] for h in _run("hosts", "-w", str(moved), "--json", "--hva")][:1] == [
        "10.10.10.10"]
