"""The Cypher twin of syn_only_scans gives the same findings and integer figures on Neo4j
as the embedded analysis (first twin; the others follow the same pattern)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.stores.neo4j import load_workspace
from tests.analyses.helpers import generated_workspace
from tests.neo4j.parity import assert_parity


@pytest.mark.parametrize("seed", [42, 7])
def test_syn_only_scans_parity(driver, tmp_path: Path, seed: int) -> None:
    ws, _ = generated_workspace(tmp_path, seed, flows_per_day=2000, days=8)
    load_workspace(driver, ws, force=True)
    assert_parity(driver, ws, "syn_only_scans")


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
