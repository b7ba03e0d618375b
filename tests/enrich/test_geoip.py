"""GeoIP and ASN: the documented contents of the test databases, nulls, errors, and one
lookup per distinct host."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path
from typing import Any

import maxminddb
import pytest
from click.testing import CliRunner

from graphflow.cli import main
from graphflow.errors import InputFormatError
from graphflow.hosts import EnrichSettings, build_hosts, read_hosts
from graphflow.ingestion import ingest_files
from graphflow.ipsets import parse_addrs
from graphflow.workspace import Workspace
from ingest.enrich.geoip import MaxMindDB, default_city_db, enrich_asn, enrich_geoip
from tests.conftest import FLOWS, zeek_tsv
from tests.enrich.conftest import GEOIP

CITY = GEOIP / "GeoLite2-City-Test.mmdb"
COUNTRY = GEOIP / "GeoLite2-Country-Test.mmdb"
ASN = GEOIP / "GeoLite2-ASN-Test.mmdb"
BROKEN = GEOIP / "GeoIP2-City-Test-Broken-Double-Format.mmdb"


def _documented(name: str) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                         dict[str, Any]]]:
    doc = json.loads((GEOIP / name).read_text(encoding="utf-8"))
    return [(ipaddress.ip_network(net), rec) for entry in doc for net, rec in entry.items()]


def _most_specific(nets: list[tuple[Any, dict[str, Any]]], ip: str) -> dict[str, Any] | None:
    a = ipaddress.ip_address(ip)
    best = None
    for net, rec in nets:
        if a.version == net.version and a in net and (best is None or
                                                      net.prefixlen > best[0].prefixlen):
            best = (net, rec)
    return best[1] if best else None


def _probe_addresses(nets: list[tuple[Any, dict[str, Any]]]) -> list[str]:
    """First, last and a middle address of every documented network."""
    out = []
    for net, _ in nets:
        first = int(net.network_address)
        for off in (0, net.num_addresses // 2, net.num_addresses - 1):
            out.append(str(ipaddress.ip_address(first + off) if net.version == 4
                           else ipaddress.IPv6Address(first + off)))
    return out


def test_every_documented_city_network_resolves() -> None:
    nets = _documented("GeoLite2-City-Test.json")
    ips = _probe_addresses(nets)
    with MaxMindDB(CITY, "city") as db:
        got = enrich_geoip(db, parse_addrs(ips))
    for i, ip in enumerate(ips):
        rec = _most_specific(nets, ip) or {}
        country = rec.get("country", {})
        city = rec.get("city", {}).get("names", {}).get("en")
        assert got["country"][i].as_py() == country.get("iso_code"), ip
        assert got["country_name"][i].as_py() == country.get("names", {}).get("en"), ip
        assert got["city"][i].as_py() == city, ip
    assert sum(v is not None for v in got["city"].to_pylist()) > 20


def test_every_documented_asn_network_resolves() -> None:
    nets = _documented("GeoLite2-ASN-Test.json")
    ips = _probe_addresses(nets)
    with MaxMindDB(ASN, "asn") as db:
        got = enrich_asn(db, parse_addrs(ips))
    for i, ip in enumerate(ips):
        rec = _most_specific(nets, ip) or {}
        assert got["asn"][i].as_py() == rec.get("autonomous_system_number"), ip
        assert got["as_org"][i].as_py() == rec.get("autonomous_system_organization"), ip


def test_documented_examples_and_unknown_addresses_stay_null() -> None:
    ips = ["81.2.69.142", "2.125.160.216", "89.160.20.112", "216.160.83.56", "10.0.0.1",
           "192.0.2.1", "2001:db8::1", "1.1.1.1", "not-an-ip"]
    with MaxMindDB(CITY, "city") as city, MaxMindDB(ASN, "asn") as asn:
        a = parse_addrs(ips)
        g = enrich_geoip(city, a)
        n = enrich_asn(asn, parse_addrs(["1.128.0.1", "10.0.0.1"]))
    assert g["country"].to_pylist() == ["GB", "GB", "SE", "US", None, None, None, None, None]
    assert g["city"].to_pylist()[:4] == ["London", "Boxford", "Linköping", "Milton"]
    assert n["asn"].to_pylist() == [1221, None]
    assert n["as_org"].to_pylist() == ["Telstra Pty Ltd", None]


def _rec(ref: Any, ip: str) -> dict[str, Any]:
    r = ref.get(ip)
    return r if isinstance(r, dict) else {}


@pytest.mark.parametrize("path", [CITY, COUNTRY, ASN])
def test_vectorised_walk_equals_the_reference_reader(path: Path) -> None:
    rnd = random.Random(7)
    ips = [str(ipaddress.IPv4Address(rnd.getrandbits(32))) for _ in range(3000)]
    ips += [str(ipaddress.IPv6Address((rnd.choice([0x2001, 0x2a02, 0x2400]) << 112)
                                      | rnd.getrandbits(112))) for _ in range(1000)]
    ips += _probe_addresses(_documented("GeoLite2-ASN-Test.json"))[:900]
    kind = "asn" if path == ASN else "city"
    ref = maxminddb.open_database(str(path))
    with MaxMindDB(path, kind) as db:
        if kind == "asn":
            got = enrich_asn(db, parse_addrs(ips))["asn"].to_pylist()
            want = [_rec(ref, ip).get("autonomous_system_number") for ip in ips]
        else:
            got = enrich_geoip(db, parse_addrs(ips))["country"].to_pylist()
            want = [(_rec(ref, ip).get("country") or {}).get("iso_code") for ip in ips]
    assert got == want


def test_broken_database_gives_a_clear_error() -> None:
    with pytest.raises(InputFormatError, match=r"Broken-Double-Format.mmdb: corrupt MaxMind DB"):
        MaxMindDB(BROKEN, "city")
    with pytest.raises(InputFormatError, match="database not found"):
        MaxMindDB(GEOIP / "missing.mmdb", "city")
    with pytest.raises(InputFormatError, match="expected an ASN database"):
        MaxMindDB(CITY, "asn")
    with pytest.raises(InputFormatError, match="expected a City or Country database"):
        MaxMindDB(ASN, "city")


def test_cli_reports_broken_database(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text(zeek_tsv(FLOWS))
    ws = tmp_path / "ws"
    ingest_files([tmp_path / "conn.log"], ws)
    not_mmdb = tmp_path / "fake.mmdb"
    not_mmdb.write_text("hello")
    for db, msg in ((BROKEN, "corrupt MaxMind DB"), (not_mmdb, "not a readable MaxMind DB"),
                    (tmp_path / "none.mmdb", "database not found")):
        res = CliRunner().invoke(main, ["enrich", "-w", str(ws), "--city-db", str(db)])
        assert res.exit_code == 1, res.output
        assert msg in res.output and "Traceback" not in res.output


def test_lookups_once_per_distinct_host(tmp_path: Path) -> None:
    # many flows between few hosts: every host is looked up exactly once
    rows = []
    for k in range(400):
        r = dict(FLOWS[k % 3], uid=f"CX{k:016d}", ts=f"{1772438400 + k}.5")
        r["id.orig_h"] = ["81.2.69.142", "89.160.20.112", "10.10.1.5"][k % 3]
        rows.append(r)
    (tmp_path / "conn.log").write_text(zeek_tsv(rows))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([tmp_path / "conn.log"], ws)
    report = build_hosts(ws, EnrichSettings(city_db=str(CITY), asn_db=str(ASN)))
    hosts = read_hosts(ws)
    distinct = {r["id.orig_h"] for r in rows} | {r["id.resp_h"] for r in rows}
    assert len(rows) == 400 and len(distinct) == 5
    assert report.hosts == hosts.num_rows == 5
    assert report.geo_lookups == report.asn_lookups == 5
    by_ip = {h["ip"]: h for h in hosts.to_pylist()}
    assert by_ip["81.2.69.142"]["city"] == "London"
    assert by_ip["89.160.20.112"]["country"] == "SE"
    assert by_ip["10.10.1.5"]["country"] is None


@pytest.mark.skipif(default_city_db() is None, reason="maxminddb-geolite2 not installed")
def test_default_city_database_is_used_offline(tmp_path: Path) -> None:
    (tmp_path / "conn.log").write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([tmp_path / "conn.log"], ws)
    report = build_hosts(ws)
    assert report.databases["city"]["database_type"] == "GeoLite2-City"
    assert Path(report.databases["city"]["path"]) == default_city_db()
