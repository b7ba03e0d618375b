"""Every format written from the same graph, hostile DNS name included: DOT rendered by the
real Graphviz, GraphML and GEXF read back by networkx with every attribute equal, Cytoscape
JSON and CSV read back by standard parsers."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math

import networkx as nx
import pytest

from graphflow.exports import (
    Selection,
    build_graph,
    style_graph,
    write_csv,
    write_cytoscape,
    write_dot,
    write_gexf,
    write_graphml,
)
from graphflow.exports.escape import dot_string
from graphflow.rules import parse_rules
from tests.exports.conftest import HOSTILE
from tests.exports.helpers import parse_dot

RULES = parse_rules({"rules": [
    {"element": "node", "color": "red", "size": 0.6, "shape": "box",
     "when": {"field": "hva", "equals": True}},
    {"element": "node", "color": {"field": "role"}},
    {"element": "node", "label": {"template": "{id}\n{dns}"}, "when": {"field": "dns",
                                                                        "regex": "."}},
    {"element": "node", "cluster": {"field": "country"}},
    {"element": "edge", "color": "red", "size": 2, "when": {"field": "s0_flows", "gt": 0}},
]})


@pytest.fixture(scope="module", params=[False, True], ids=["pair", "port"])
def graph(request, export_ws):
    return style_graph(build_graph(export_ws, Selection(per_port=request.param), spells=True),
                       RULES)


def _plain(v):
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def test_dot_renders_without_warnings(graph, tmp_path, render):
    path = tmp_path / "g.dot"
    write_dot(graph, path)
    render(path)
    g = parse_dot(path.read_text())
    assert set(g.nodes) == set(graph.nodes.column("id").to_pylist())
    hostile = g.nodes["203.0.113.7"]["label"]
    want = dot_string(f"203.0.113.7\n{HOSTILE};second.example")[1:-1].replace('\\"', '"')
    assert hostile == want
    assert "\\n" in hostile and "\n" not in hostile
    assert g.clusters and any("203.0.113.7" in members for members in g.clusters.values())
    assert g.nodes["10.10.0.10"]["shape"] == "box"
    assert {(a, b) for a, b, _ in g.edges} == set(zip(graph.edges.column("source").to_pylist(),
                                                      graph.edges.column("target").to_pylist(),
                                                      strict=True))
    assert (tmp_path / "g.svg").read_text().count("<g id=\"node") == graph.nodes.num_rows


def test_dot_escaping_of_hostile_ids(tmp_path, render):
    import pyarrow as pa

    from graphflow.exports import ExportGraph
    ids = [HOSTILE, "a\\", '"', "x\ty", "\u5317\u4eac", "<b>"]
    nodes = pa.table({"id": ids, "label": ids})
    edges = pa.table({"source": ids[:-1], "target": ids[1:], "label": ids[1:]})
    path = tmp_path / "h.dot"
    write_dot(ExportGraph(nodes, edges), path)
    render(path)
    g = parse_dot(path.read_text())
    assert len(g.nodes) == len(ids) and len(g.edges) == len(ids) - 1


def _compare(got: dict, want: dict, skip: set[str]) -> None:
    for k, v in want.items():
        if k in skip or v is None or v == "":
            assert k in skip or k not in got, k
            continue
        assert got[k] == _plain(v), (k, got.get(k), v)


def test_graphml_round_trip(graph, tmp_path):
    path = tmp_path / "g.graphml"
    write_graphml(graph, path)
    G = nx.read_graphml(path)
    assert set(G.nodes) == set(graph.nodes.column("id").to_pylist())
    for row in graph.nodes.to_pylist():
        _compare(G.nodes[row["id"]], row, {"id"})
    assert G.nodes["203.0.113.7"]["dns"] == f"{HOSTILE};second.example"
    got = {(u, v, d["label"]): d for u, v, d in G.edges(data=True)}
    assert len(got) == graph.edges.num_rows
    for row in graph.edges.to_pylist():
        _compare(got[(row["source"], row["target"], row["label"])], row, {"source", "target"})


def test_gexf_round_trip(graph, tmp_path):
    path = tmp_path / "g.gexf"
    write_gexf(graph, path)
    G = nx.read_gexf(path)
    assert G.graph["mode"] == "dynamic"
    visual = {"id", "label", "color", "size", "shape", "cluster"}
    for row in graph.nodes.to_pylist():
        d = G.nodes[row["id"]]
        assert d["label"] == row["label"]
        _compare(d, row, visual)
    assert G.nodes["203.0.113.7"]["dns"] == f"{HOSTILE};second.example"
    assert G.nodes["10.10.0.10"]["viz"]["color"] == {"r": 255, "g": 0, "b": 0, "a": 1.0}
    got = {(u, v, d["label"]): d for u, v, d in G.edges(data=True)}
    for row in graph.edges.to_pylist():
        d = got[(row["source"], row["target"], row["label"])]
        assert d["weight"] == row["flows"]
        assert d["spells"]
        _compare(d, row, visual | {"source", "target"})


def test_cytoscape_json(graph, tmp_path):
    path = tmp_path / "g.json"
    write_cytoscape(graph, path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    nodes = {n["data"]["id"]: n["data"] for n in doc["elements"]["nodes"]}
    for row in graph.nodes.to_pylist():
        for k, v in row.items():
            assert nodes[row["id"]][k] == _plain(v), k
    edges = doc["elements"]["edges"]
    assert [e["data"]["source"] for e in edges] == graph.edges.column("source").to_pylist()
    assert len({e["data"]["id"] for e in edges}) == len(edges)


def test_csv(graph, tmp_path):
    write_csv(graph, tmp_path / "csv")
    with open(tmp_path / "csv" / "nodes.csv", newline="", encoding="utf-8") as fh:
        rows = {r["id"]: r for r in csv.DictReader(fh)}
    for row in graph.nodes.to_pylist():
        for k, v in row.items():
            v = _plain(v)
            want = "" if v is None else ("true" if v is True else "false" if v is False
                                        else str(v))
            assert rows[row["id"]][k] == want, k
    assert rows["203.0.113.7"]["dns"] == f"{HOSTILE};second.example"
    with open(tmp_path / "csv" / "edges.csv", newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == graph.edges.num_rows
