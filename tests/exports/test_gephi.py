"""GDF and GEXF opened by Gephi's own importer (gephi-toolkit, headless Java 17): nodes,
edges, attribute columns and values as GraphFlow exported them, a hostile DNS name included;
the GEXF graph is dynamic with each edge's interval as exported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from graphflow.exports import Selection, build_graph, style_graph, write_gdf, write_gexf
from graphflow.exports.escape import gdf_expected
from graphflow.rules import parse_rules
from tests.exports.conftest import HOSTILE

RULES = parse_rules({"rules": [
    {"element": "node", "color": "red", "when": {"field": "hva", "equals": True}},
    {"element": "node", "color": {"field": "country"}},
    {"element": "node", "label": {"template": "{id} {dns}"}, "when": {"field": "dns",
                                                                       "regex": "."}},
    {"element": "edge", "color": "orange", "when": {"field": "syn_only_flows", "gt": 0}},
]})


@pytest.fixture(scope="module")
def imported(export_ws, gephi, tmp_path_factory):
    d = tmp_path_factory.mktemp("gephi")
    out = {}
    for per_port in (False, True):
        g = style_graph(build_graph(export_ws, Selection(per_port=per_port), spells=True),
                        RULES)
        tag = "port" if per_port else "pair"
        write_gdf(g, d / f"{tag}.gdf")
        write_gexf(g, d / f"{tag}.gexf")
        out[tag] = g
    got = gephi(*(d / f"{t}.{ext}" for t in ("pair", "port") for ext in ("gdf", "gexf")))
    return out, {Path(k).name: v for k, v in got.items()}


def _expected_value(v, fmt):
    if isinstance(v, dt.datetime):
        v = v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if fmt == "gdf" and isinstance(v, str):
        return gdf_expected(v)
    return v


@pytest.mark.parametrize("fmt", ["gdf", "gexf"])
@pytest.mark.parametrize("tag", ["pair", "port"])
def test_gephi_reads_what_we_wrote(imported, fmt, tag):
    graphs, got = imported
    g, doc = graphs[tag], got[f"{tag}.{fmt}"]
    assert doc["issues"] == [], doc["issues"]
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert set(nodes) == set(g.nodes.column("id").to_pylist())
    ours_cols = [c for c in g.nodes.column_names
                 if c not in ("id", "label", "color", "size", "shape", "cluster")]
    rename = {"name": "host_name"} if fmt == "gdf" else {}
    gephi_cols = {c["id"] for c in doc["node_columns"] if not c["property"]}
    assert {rename.get(c, c) for c in ours_cols} == gephi_cols
    for row in g.nodes.to_pylist():
        n = nodes[row["id"]]
        want_label = gdf_expected(row["label"]) if fmt == "gdf" else row["label"]
        assert n["label"] == want_label
        for c in ours_cols:
            assert n["attributes"][rename.get(c, c)] == _expected_value(row[c], fmt), c
    hostile = nodes["203.0.113.7"]
    raw = f"{HOSTILE};second.example"
    assert hostile["attributes"]["dns"] == (gdf_expected(raw) if fmt == "gdf" else raw)
    assert nodes["10.10.0.10"]["color"] == [255, 0, 0]
    edges = {(e["source"], e["target"], e["label"]): e for e in doc["edges"]}
    ours = g.edges.to_pylist()
    assert len(doc["edges"]) == len(ours)
    for row in ours:
        e = edges[(row["source"], row["target"], row["label"])]
        assert e["weight"] == row["flows"]
        assert e["directed"] is True
        for c in ("flows", "src_bytes", "syn_only_flows", "days"):
            assert e["attributes"][c] == row[c]
        if row["syn_only_flows"]:
            assert e["color"] == [255, 165, 0]


def test_gexf_is_dynamic_with_the_exported_intervals(imported):
    graphs, got = imported
    doc = got["port.gexf"]
    assert doc["dynamic"] is True
    g = graphs["port"]
    spells = g.edge_spells.to_pylist()
    assert spells
    first = spells[0]
    row = g.edges.slice(first["edge"], 1).to_pylist()[0]
    edge = next(e for e in doc["edges"] if (e["source"], e["target"], e["label"]) ==
                (row["source"], row["target"], row["label"]))

    def ms(d: dt.date) -> float:
        return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000

    assert edge["intervals"] == [[ms(first["start"]), ms(first["end"])]]
    node = next(n for n in doc["nodes"] if n["id"] == "10.10.1.5")
    # active on two consecutive days: one merged spell
    assert node["intervals"] == [[ms(dt.date(2026, 3, 2)), ms(dt.date(2026, 3, 4))]]
    assert got["pair.gdf"]["dynamic"] is False


def test_parallel_edges_per_port_are_kept_apart(export_ws, gephi, tmp_path):
    # two ports between the same pair: per port they stay two edges in Gephi (GEXF kind)
    g = build_graph(export_ws, Selection(per_port=True), spells=True)
    extra = g.edges.slice(1, 1).to_pylist()[0]
    extra.update(dst_port=2222, label="tcp/2222")
    edges = pa.concat_tables([g.edges, pa.Table.from_pylist([extra], schema=g.edges.schema)])
    g = g.replace(edges=edges, edge_spells=None)
    write_gexf(g, tmp_path / "parallel.gexf", dynamic=False)
    doc = gephi(tmp_path / "parallel.gexf")[str(tmp_path / "parallel.gexf")]
    pair = [e for e in doc["edges"] if (e["source"], e["target"]) ==
            (extra["source"], extra["target"])]
    assert sorted(e["kind"] for e in pair) == ["tcp/22", "tcp/2222"]
