"""``graphflow export FORMAT``: every format through the command line, the selection options,
--json, --render with the real dot, and the errors a user can act on."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from click.testing import CliRunner

from graphflow.cli import main
from tests.exports.helpers import assert_renders, parse_dot, parse_gdf


def export(ws, *args):
    return CliRunner().invoke(main, ["export", *args, "--workspace", str(ws.root)])


def dot_out(res, tmp_path):
    assert res.exit_code == 0, res.output
    assert_renders(res.stdout, tmp_path)
    return parse_dot(res.stdout)


@pytest.mark.parametrize("fmt", ["gdf", "gexf", "dot", "graphml", "cytoscape"])
def test_every_format_to_a_file(export_ws, tmp_path, fmt):
    out = tmp_path / f"g.{fmt}"
    res = export(export_ws, fmt, "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["format"] == fmt and doc["nodes"] == 7 and doc["edges"] == 5
    assert doc["bytes"] == out.stat().st_size > 0
    if fmt == "dot":
        assert_renders(out.read_text(), tmp_path)


def test_stdout_selection_and_per_port(export_ws, tmp_path):
    res = export(export_ws, "gdf", "--host", "203.0.113.0/24", "--per-port")
    assert res.exit_code == 0, res.output
    g = parse_gdf(res.stdout)
    assert sorted(e["label"] for e in g.edges) == ["tcp/23", "tcp/23"]
    assert set(g.nodes) == {"203.0.113.7", "10.10.0.10", "10.10.0.11"}
    res = export(export_ws, "dot", "--around", "10.10.1.5", "--hops", "1", "--port", "22")
    assert {(a, b) for a, b, _ in dot_out(res, tmp_path).edges} == \
        {("10.10.1.5", "10.10.0.10")}
    res = export(export_ws, "dot", "--from", "2026-03-03", "--limit", "1")
    assert len(dot_out(res, tmp_path).edges) == 1


def test_rules_sets_and_render(export_ws, tmp_path, render):
    rules = tmp_path / "r.yaml"
    rules.write_text("sets:\n  scanners: [203.0.113.0/24]\nrules:\n"
                     "  - {element: node, color: red, when: {field: id, in_set: scanners}}\n"
                     "  - {element: node, shape: box, when: {field: own, equals: true}}\n")
    out = tmp_path / "g.dot"
    res = export(export_ws, "dot", "-o", str(out), "--rules", str(rules), "--set", "scanners",
                 "--render", "svg", "--render", "png", "--json")
    assert res.exit_code == 0, res.output
    assert sorted(json.loads(res.stdout)["rendered"]) == [str(tmp_path / "g.png"),
                                                          str(tmp_path / "g.svg")]
    g = parse_dot(out.read_text())
    assert g.nodes["203.0.113.7"]["fillcolor"] == "red"
    assert g.nodes["10.10.0.10"]["shape"] == "box"
    render(out)


def test_afterglow_properties_as_export_rules(export_ws, tmp_path):
    props = tmp_path / "c.properties"
    props.write_text('color.source="yellow" if ($fields[0]=~/^10\\./)\ncolor.source="red"\n'
                     'color.target="blue"\n')
    res = export(export_ws, "graphml", "--rules", str(props))
    assert res.exit_code == 0, res.output
    G = nx.parse_graphml(res.stdout)
    assert G.nodes["10.10.1.5"]["color"] == "yellow"
    assert G.nodes["203.0.113.7"]["color"] == "red"
    assert G.nodes["10.10.0.11"]["color"] == "blue"


def test_csv_needs_a_directory(export_ws, tmp_path):
    res = export(export_ws, "csv")
    assert res.exit_code == 1 and "needs -o" in res.output
    res = export(export_ws, "csv", "-o", str(tmp_path / "out"))
    assert res.exit_code == 0
    assert (tmp_path / "out" / "nodes.csv").exists() and (tmp_path / "out" / "edges.csv").exists()


def test_user_errors(export_ws, tmp_path):
    res = export(export_ws, "gdf", "--set", "nope")
    assert res.exit_code == 1 and "no such named set" in res.output
    res = export(export_ws, "gdf", "--around", "not-an-ip")
    assert res.exit_code == 1 and "not an IP address" in res.output
    res = export(export_ws, "gexf", "--render", "svg", "-o", str(tmp_path / "x.gexf"))
    assert res.exit_code == 1 and "--render is for the dot format" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{color: red, when: {field: id, regexp: x}}]\n")
    res = export(export_ws, "gdf", "--rules", str(bad))
    assert res.exit_code == 1 and "unknown operator 'regexp'" in res.output
    res = CliRunner().invoke(main, ["export", "gdf", "--workspace", str(tmp_path / "none")])
    assert res.exit_code == 1 and "no GraphFlow workspace" in res.output
    res = export(export_ws, "gdf", "--finding", "nosuch-0000")
    assert res.exit_code == 1 and "nosuch" in res.output


def test_workspace_named_sets(export_ws, tmp_path):
    # 'own' is a workspace set (inventory, else private and ULA space)
    res = export(export_ws, "gdf", "--set", "own", "--host", "2001:db8::/32")
    assert res.exit_code == 0, res.output
    ids = set(parse_gdf(res.stdout).nodes)
    assert "10.10.1.5" in ids and "2001:db8::5" in ids
    rules = tmp_path / "r.yaml"
    rules.write_text("rules:\n  - {element: node, color: blue, when: {field: id, in_set: own}}\n")
    res = export(export_ws, "graphml", "--rules", str(rules))
    G = nx.parse_graphml(res.stdout)
    assert G.nodes["10.10.1.5"]["color"] == "blue" and "color" not in G.nodes["203.0.113.7"]
