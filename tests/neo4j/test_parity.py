"""The Cypher twin of syn_only_scans gives the same findings and integer figures on Neo4j
as the embedded analysis (first twin; the others follow the same pattern)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.analyses import analysis_params, run_analysis
from graphflow.stores.neo4j import load_workspace, run_cypher_file
from tests.analyses.helpers import generated_workspace
from tests.neo4j.parity import assert_parity


@pytest.mark.parametrize("seed", [42, 7])
def test_syn_only_scans_parity(driver, tmp_path: Path, seed: int) -> None:
    ws, _ = generated_workspace(tmp_path, seed, flows_per_day=2000, days=8)
    load_workspace(driver, ws, force=True)
    assert_parity(driver, ws, "syn_only_scans")


@pytest.mark.parametrize("seed", [42, 7])
def test_vertical_scans_parity(driver, tmp_path: Path, seed: int) -> None:
    ws, _ = generated_workspace(tmp_path, seed, flows_per_day=2000, days=8)
    load_workspace(driver, ws, force=True)
    embedded = {f.entity: f.figures for f in run_analysis(ws, "vertical_scans")}
    rows = run_cypher_file(driver, "vertical_scans", analysis_params("vertical_scans"))
    cypher: dict[str, dict[str, int]] = {}
    for r in rows:
        c = cypher.setdefault(r["entity"], {"max_ports_on_target": 0, "flows": 0,
                                            "failed": 0, "targets": 0})
        c["max_ports_on_target"] = max(c["max_ports_on_target"], r["ports"])
        c["flows"] += r["flows"]
        c["failed"] += r["failed"]
        c["targets"] = len({x["target"] for x in rows if x["entity"] == r["entity"]})
    assert embedded and set(cypher) == set(embedded)
    for ip, fig in cypher.items():
        assert fig == {k: embedded[ip][k] for k in fig}, ip


def test_low_traffic_parity(driver, tmp_path: Path) -> None:
    ws, _ = generated_workspace(tmp_path, 42, flows_per_day=2000, days=8)
    load_workspace(driver, ws, force=True)
    embedded = {(f.entity, f.figures["own_ip"], f.figures["day"], f.figures["port"],
                 f.figures["proto"]): (f.figures["flows"], f.figures["pkts"], f.figures["bytes"])
                for f in run_analysis(ws, "low_traffic")}
    rows = run_cypher_file(driver, "low_traffic", analysis_params("low_traffic"))
    cypher = {(r["peer"], r["own_ip"], str(r["day"]), r["port"], r["proto"]):
              (r["flows"], r["pkts"], r["bytes"]) for r in rows}
    assert embedded and cypher == embedded


def test_cli_backend_neo4j(driver, neo4j_uri: str, tmp_path: Path) -> None:
    """``analyze NAME --backend neo4j --json`` prints the embedded findings, same form."""
    import json

    from click.testing import CliRunner

    from graphflow.cli import main

    ws, _ = generated_workspace(tmp_path, 42, flows_per_day=2000, days=8)
    load_workspace(driver, ws, force=True)
    base = ["analyze", "syn-only-scans", "--json", "--workspace", str(ws.root)]
    emb = CliRunner().invoke(main, base)
    neo = CliRunner().invoke(main, [*base, "--backend", "neo4j", "--neo4j", neo4j_uri])
    assert emb.exit_code == 0 and neo.exit_code == 0, (emb.output, neo.output)
    e, n = json.loads(emb.stdout), json.loads(neo.stdout)
    assert e and [f["id"] for f in n] == [f["id"] for f in e]
    assert [set(f) for f in n] == [set(f) for f in e]
    one = e[0]["entity"]
    only = CliRunner().invoke(main, [*base, "--backend", "neo4j", "--neo4j", neo4j_uri,
                                     "--cidr", f"{one}/32"])
    assert [f["entity"] for f in json.loads(only.stdout)] == [one]
