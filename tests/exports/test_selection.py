"""The export graph of a selection: the filters of ``graphflow graph``, neighbourhoods,
findings (the hook), named sets, aggregation per pair or per port, hosts table or not."""

from __future__ import annotations

import datetime as dt

import pytest

from graphflow.errors import GraphFlowError
from graphflow.exports import FindingSelection, Selection, build_graph, with_sets
from graphflow.query import FlowFilter


def _pairs(g):
    return sorted(zip(g.edges.column("source").to_pylist(),
                      g.edges.column("target").to_pylist(), strict=True))


def test_per_pair_and_per_port(export_ws):
    pair = build_graph(export_ws)
    port = build_graph(export_ws, Selection(per_port=True))
    assert pair.edges.num_rows == port.edges.num_rows == 5
    assert "dst_port" not in pair.edges.column_names
    assert port.edges.column("label").to_pylist()[1] == "tcp/22"
    assert sum(pair.edges.column("flows").to_pylist()) == 5
    assert pair.nodes.num_rows == 7


def test_nodes_carry_host_attributes(export_ws, plain_ws):
    rows = {r["id"]: r for r in build_graph(export_ws).nodes.to_pylist()}
    assert rows["10.10.0.10"]["hva"] is True and rows["10.10.0.10"]["role"] == "ssh-server"
    assert rows["203.0.113.7"]["country"] == "NL" and rows["203.0.113.7"]["asn"] == 64500
    assert rows["10.10.1.5"]["out_degree"] == 2 and rows["10.10.1.5"]["in_degree"] == 0
    assert rows["10.10.0.10"]["degree"] == 2
    assert rows["10.10.1.5"]["bytes_out"] == 1520 + 84
    plain = build_graph(plain_ws).nodes
    assert "own" not in plain.column_names and "dns" not in plain.column_names
    assert dict(zip(plain.column("id").to_pylist(), plain.column("ip_version").to_pylist(),
                    strict=True))["2001:db8::5"] == 6


def test_filters(export_ws):
    flt = FlowFilter(hosts=("203.0.113.0/24",), limit=None)
    assert _pairs(build_graph(export_ws, Selection(flt=flt))) == [
        ("203.0.113.7", "10.10.0.10"), ("203.0.113.7", "10.10.0.11")]
    flt = FlowFilter(ports=(22,), limit=None)
    assert _pairs(build_graph(export_ws, Selection(flt=flt))) == [("10.10.1.5", "10.10.0.10")]
    flt = FlowFilter(start=dt.datetime(2026, 3, 3, tzinfo=dt.UTC), limit=None)
    g = build_graph(export_ws, Selection(flt=flt), spells=True)
    assert {s["start"] for s in g.edge_spells.to_pylist()} == {dt.date(2026, 3, 3)}
    g = build_graph(export_ws, Selection(flt=FlowFilter(limit=2)))
    assert g.edges.num_rows == 2


def test_neighbourhood(export_ws):
    one = build_graph(export_ws, Selection(around=("10.10.0.10",), hops=1))
    assert _pairs(one) == [("10.10.1.5", "10.10.0.10"), ("203.0.113.7", "10.10.0.10")]
    two = build_graph(export_ws, Selection(around=("10.10.0.10",), hops=2))
    assert len(_pairs(two)) == 4  # + 10.10.1.5 -> 10.10.0.1 and 203.0.113.7 -> 10.10.0.11
    with pytest.raises(GraphFlowError, match="not an IP"):
        build_graph(export_ws, Selection(around=("nope",)))


def test_finding_hook(export_ws):
    ips = FindingSelection(ips=frozenset({"203.0.113.7", "10.10.0.10", "10.10.0.11"}))
    assert len(_pairs(build_graph(export_ws, Selection(finding=ips)))) == 2
    pairs = FindingSelection(pairs=frozenset({("203.0.113.7", "10.10.0.11")}))
    g = build_graph(export_ws, Selection(finding=pairs))
    assert _pairs(g) == [("203.0.113.7", "10.10.0.11")]
    assert sorted(g.nodes.column("id").to_pylist()) == ["10.10.0.11", "203.0.113.7"]


def test_named_sets():
    flt = with_sets(FlowFilter(), ["dmz"], {"dmz": ["10.1.0.0/16", "2001:db8::/32"]})
    assert flt.hosts == ("10.1.0.0/16", "2001:db8::/32")
    with pytest.raises(GraphFlowError, match="no such named set"):
        with_sets(FlowFilter(), ["nope"], {})


def test_invisible_nodes_and_edges_are_left_out(export_ws):
    from graphflow.exports import style_graph
    from graphflow.rules import parse_rules

    rs = parse_rules({"rules": [
        {"element": "node", "color": "invisible", "when": {"field": "id", "equals": "10.10.0.1"}},
        {"element": "edge", "color": "invisible", "when": {"field": "label", "equals": "udp/53"}},
    ]})
    g = style_graph(build_graph(export_ws, Selection(per_port=True), spells=True), rs)
    assert "10.10.0.1" not in g.nodes.column("id").to_pylist()
    assert _pairs(g) == [("10.10.1.5", "10.10.0.10"), ("203.0.113.7", "10.10.0.10"),
                         ("203.0.113.7", "10.10.0.11")]
    assert sorted(s["edge"] for s in g.edge_spells.to_pylist()) == [0, 1, 2]


@pytest.mark.parametrize("flt", [
    FlowFilter(limit=None), FlowFilter(ports=(23,), limit=None), FlowFilter(limit=3),
    FlowFilter(start=dt.datetime(2026, 3, 3, tzinfo=dt.UTC), protos=("udp", "ICMP"), limit=None),
])
def test_edges_are_select_edges(export_ws, flt):
    # the export's edges are select_edges' rows (plus their labels), whatever the filter
    from graphflow.query import select_edges

    ours = build_graph(export_ws, Selection(flt=flt)).edges.drop_columns(["label"])
    theirs = select_edges(export_ws, flt, per_port=False)
    assert ours.to_pylist() == theirs.rename_columns(ours.column_names).to_pylist()
