"""The inventory format: errors with line and field; the generator's own hosts, HVAs and
policy rules classified exactly; YAML and JSON forms agree."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graphflow.assets import read_inventory
from graphflow.cli import main
from graphflow.db import connect, fetch_arrow
from graphflow.hosts import EnrichSettings, build_hosts, read_hosts
from graphflow.workspace import Workspace
from ingest.enrich.inventory import InventoryError, inventory_from_text
from tests.policy_inventory import POLICY_INVENTORY

BAD_YAML = """\
own_networks:
  - 10.10.0.0/16
  - 10.10.0.300/24
ranges:
  - {cidr: 10.10.16.0/20, kind: dynamic, role: workstation}
  - {cidr: 192.168.0.0/24, kind: static}
assets:
  - ip: 10.10.11.50
    name: db01
    role: database
    criticality: critical
  - ip: 10.10.11.50
    name: db01-again
  - cidr: 10.10.11.0/28
    rôle: app
policies:
  database:
    inbound:
      tcp/5432: [ap]
      tcp/99999: [any]
    countries:
      outbound: {deny: [germany]}
polices: {}
"""

EXPECTED = [
    (3, "own_networks[1]", "not an IP address or CIDR"),
    (5, "ranges[0].kind", "'dynamic' is not one of dhcp, static"),
    (6, "ranges[1]", "192.168.0.0/24 is not inside any own network"),
    (11, "assets[0].criticality", "'critical' is not one of low, medium, high"),
    (12, "assets[1].ip", "10.10.11.50/32 is already listed at line 8"),
    (15, "assets[2]", "unknown key 'rôle' (did you mean 'role'?)"),
    (19, "policies.database.inbound.tcp/5432[0]", "unknown role or keyword 'ap'"),
    (20, "policies.database.inbound.tcp/99999", "ports are 0-65535"),
    (22, "policies.database.countries.outbound.deny[0]", "'germany' is not an ISO 3166-1"),
    (23, "", "unknown key 'polices' (did you mean 'policies'?)"),
]


def test_errors_name_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "inventory.yaml"
    f.write_text(BAD_YAML, encoding="utf-8")
    with pytest.raises(InventoryError) as info:
        read_inventory(f)
    got = [(p.line, p.field, p.message) for p in info.value.problems]
    assert len(got) == len(EXPECTED), "\n".join(map(str, info.value.problems))
    for (line, fld, msg), (gl, gf, gm) in zip(EXPECTED, got, strict=True):
        assert (gl, gf) == (line, fld) and msg in gm, (gl, gf, gm)
    assert all(p.path == str(f) for p in info.value.problems)
    # the CLI lists every problem, compiler style, and exits 1
    res = CliRunner().invoke(main, ["assets", "check", str(f)])
    assert res.exit_code == 1
    assert f"{f}:11: assets[0].criticality: 'critical' is not one of" in res.output
    assert f"{len(EXPECTED)} problem(s)" in res.output
    res = CliRunner().invoke(main, ["assets", "check", str(f), "--json"])
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["problems"][0]["line"] == 3


def test_json_and_csv_errors_have_lines_too(tmp_path: Path) -> None:
    j = tmp_path / "assets.json"
    j.write_text('{\n "own_networks": ["10.0.0.0/8"],\n "assets": [\n  {"ip": "10.0.0.1",\n'
                 '   "criticality": [3]}\n ]\n}\n')
    with pytest.raises(InventoryError, match=r"assets.json:5: assets\[0\].criticality: "
                                             r"expected text, got a list"):
        read_inventory(j)
    j.write_text('{"own_networks": ["10.0.0.0/8"],,}')
    with pytest.raises(InventoryError, match=r"assets.json:1: not valid YAML/JSON"):
        read_inventory(j)
    csvf = tmp_path / "servers.csv"
    csvf.write_text("ip,name,role,owner,criticality\n10.0.0.5,web1,web,it,high\n"
                    "10.0.0.6,web2,web,it,urgent\n10.0.0.999,x,web,it,low\n")
    y = tmp_path / "inv.yaml"
    y.write_text("own_networks: [10.0.0.0/8]\nasset_files: [servers.csv]\n")
    with pytest.raises(InventoryError) as info:
        read_inventory(y)
    assert [str(p) for p in info.value.problems] == [
        f"{csvf}:3: criticality: 'urgent' is not one of low, medium, high (see "
        "criticality_levels)",
        f"{csvf}:4: ip: '10.0.0.999': not an IP address or CIDR"]
    # a bare CSV list is an inventory too (own = private space plus the assets)
    csvf.write_text("ip,name,role,owner,criticality\n10.0.0.5,web1,web,it,high\n"
                    "203.0.113.5,dmz1,web,it,low\n")
    inv = read_inventory(csvf)
    assert "203.0.113.5" in inv.own and "192.168.1.1" in inv.own and "8.8.8.8" not in inv.own
    assert [str(n) for n in inv.hvas.cidrs()] == ["10.0.0.5/32"]


def _conn_local(generated: Path) -> dict[str, bool]:
    """Zeek's own view of which addresses are local (local_orig / local_resp)."""
    local: dict[str, bool] = {}
    fields: list[str] = []
    with open(generated / "conn.log", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#fields"):
                fields = line.rstrip("\n").split("\t")[1:]
                continue
            if line.startswith("#"):
                continue
            r = dict(zip(fields, line.rstrip("\n").split("\t"), strict=True))
            local[r["id.orig_h"]] = r["local_orig"] == "T"
            local[r["id.resp_h"]] = r["local_resp"] == "T"
    return local


def _violations(ws: Workspace, inventory: Any) -> dict[tuple[str, str], dict[str, Any]]:
    con = connect(ws)
    try:
        keys = fetch_arrow(con, """
            SELECT src_ip, dst_ip, proto, dst_port,
                   state NOT IN ('S0', 'REJ') AND coalesce(src_pkts, 0) > 0
                       AND coalesce(dst_pkts, 0) > 0 AS established,
                   count(*) AS flows
            FROM flows GROUP BY ALL""")
    finally:
        con.close()
    found: dict[tuple[str, str], dict[str, Any]] = collections.defaultdict(
        lambda: {"flows": 0, "peers": set(), "ports": set()})
    for v in inventory.policy_engine().check_table(keys).to_pylist():
        f = found[(v["kind"], v["host"])]
        f["flows"] += v["flows"]
        f["peers"].add(v["peer"])
        f["ports"].add(f"{v['proto']}/{v['dst_port']}")
    return dict(found)


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_generator_inventory_classified_exactly(form: str, generated: Path, gen_ws: Workspace,
                                                tmp_path: Path) -> None:
    src = generated / "assets.json"
    if form == "yaml":
        res = CliRunner().invoke(main, ["assets", "import", str(src), "-o",
                                        str(tmp_path / "inventory.yaml")])
        assert res.exit_code == 0, res.output
        src = tmp_path / "inventory.yaml"
    build_hosts(gen_ws, EnrichSettings(assets=str(src), default_city_db=False,
                                       whitelist=str(generated / "whitelist.txt")))
    hosts = {h["ip"]: h for h in read_hosts(gen_ws).to_pylist()}
    doc = json.loads((generated / "assets.json").read_text(encoding="utf-8"))
    truth = json.loads((generated / "ground_truth.json").read_text(encoding="utf-8"))
    # own: exactly what the sensor marked local
    local = _conn_local(generated)
    assert set(local) == set(hosts)
    assert {ip for ip, own in local.items() if own} == {ip for ip, h in hosts.items()
                                                         if h["own"]}
    # HVAs: exactly the planted ones (top criticality), with name, role, owner, criticality
    planted = {p["entity"]: p for p in truth["positives"]
               if p["analysis"] == "hva_neighbourhood"}
    hvas = set(next(iter(planted.values()))["figures"]["hvas"])
    assert hvas == set(doc["hvas"]) == {ip for ip, h in hosts.items() if h["hva"]}
    for a in doc["assets"]:
        if a["ip"] in hosts:
            h = hosts[a["ip"]]
            assert (h["name"], h["role"], h["owner"], h["criticality"]) == (
                a["name"], a["role"], a["owner"], a["criticality"])
    for ip, h in hosts.items():
        if h["own"] and h["name"] is None and ip.startswith("10.10.") and \
                int(ip.split(".")[2]) in range(16, 32):
            assert h["role"] == "workstation", ip
    assert {ip for ip, h in hosts.items() if h["whitelisted"]} == {"10.10.10.250",
                                                                   "10.10.10.251"}
    # policy rules: exactly the planted violations, no more
    from graphflow.assets import load_inventory

    inv = load_inventory(gen_ws)
    assert inv is not None
    found = _violations(gen_ws, inv)
    expected = {p["entity"]: p for p in truth["positives"]
                if p["analysis"] == "policy_violations"}
    assert {host for _, host in found} == set(expected)
    for (kind, host), f in found.items():
        fig = expected[host]["figures"]
        assert sorted(f["peers"]) == fig["peers"] == sorted(expected[host]["members"])
        assert f["flows"] == fig["flows"]
        if "port" in fig:
            assert f["ports"] == {fig["port"]}
        rule = fig["rule"]
        assert kind == {"proxy outbound allows only tcp/80 and tcp/443": "outbound",
                        "database accepts tcp/5432 only from the app tier": "inbound",
                        "no traffic to non-routable (bogon) addresses": "non_routable",
                        "own address outside every declared DHCP/static range":
                            "outside_ranges"}[rule]


def test_asset_policy_countries_and_sets() -> None:
    inv = inventory_from_text(POLICY_INVENTORY, "inv.yaml")
    countries = {"5.5.5.1": "DE", "5.5.5.2": "KP", "5.5.5.3": "BR"}
    eng = inv.policy_engine(country_of=countries.get)

    def kinds(*a: Any, **kw: Any) -> list[str]:
        return [v.kind for v in eng.check(*a, **kw)]

    assert kinds("10.2.0.5", "10.2.0.50", "tcp", 5432) == []            # set:app-tier
    assert kinds("10.1.0.7", "10.2.0.50", "tcp", 5432) == ["inbound"]   # a workstation
    assert kinds("10.2.0.5", "10.2.0.51", "tcp", 5432) == []            # asset:app1
    assert kinds("10.2.0.6", "10.2.0.51", "tcp", 1521) == []            # CIDR; no role
    assert kinds("10.2.0.5", "10.2.0.51", "tcp", 1521) == ["outbound"]  # app may not
    assert kinds("10.2.0.5", "10.2.0.51", "tcp", 22) == ["outbound", "inbound"]
    assert kinds("10.2.0.80", "5.5.5.1", "tcp", 443) == []
    assert kinds("10.2.0.80", "5.5.5.2", "tcp", 443) == ["country_outbound"]
    assert kinds("10.2.0.80", "5.5.5.3", "tcp", 443) == ["country_outbound"]
    assert kinds("10.2.0.80", "5.5.5.9", "udp", 53) == []           # defaults
    assert kinds("10.2.0.80", "5.5.5.9", "tcp", 25) == ["outbound"]
    assert kinds("10.2.0.80", "5.5.5.9", "tcp", 25, established=False) == []
    assert kinds("10.1.0.7", "192.168.1.1", "tcp", 80) == ["non_routable"]
    assert kinds("10.3.0.1", "8.8.8.8", "udp", 53) == ["outside_ranges"]
    assert kinds("8.8.8.8", "1.1.1.1", "tcp", 80) == []                 # not ours
