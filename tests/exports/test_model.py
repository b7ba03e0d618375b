"""The export graph's two ways to its edges agree: the one-query path (no host filter: pairs,
figures and port labels in one DuckDB query) and the select_edges path (host filters) give the
same rows, figures, order and labels; and an empty selection writes every format."""

from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from graphflow.exports import FORMATS, Selection, build_graph, export_graph
from graphflow.ingestion import ingest_files
from graphflow.query import FlowFilter, select_edges
from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv

EVERYWHERE = ("0.0.0.0/0", "::/0")  # a host filter that keeps everything


@pytest.fixture(scope="module")
def busy_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """Pairs with many ports, equal flow counts (ties) and several days, seeded."""
    rng = random.Random(8)
    base = FLOWS[0]
    rows = []
    for i in range(600):
        src = f"10.0.{rng.randrange(3)}.{rng.randrange(6)}"
        dst = rng.choice(["192.0.2.1", "192.0.2.2", "2001:db8::9", f"10.9.0.{rng.randrange(4)}"])
        day = rng.randrange(4)
        rows.append({**base, "uid": f"C{i:017d}", "ts": f"{1772438400 + day * 86400 + i}.5",
                     "id.orig_h": src, "id.resp_h": dst,
                     "id.resp_p": str(rng.choice([22, 53, 80, 443, 445, 8080, 3389])),
                     "proto": rng.choice(["tcp", "tcp", "udp"])})
    d = tmp_path_factory.mktemp("busy")
    (d / "conn.log").write_text(zeek_tsv(rows))
    ws = Workspace.open(d / "ws")
    ingest_files([d / "conn.log"], ws)
    return ws


def _no_label(t: pa.Table) -> pa.Table:
    return t.drop_columns(["label"])


@pytest.mark.parametrize("flt", [
    FlowFilter(limit=None),
    FlowFilter(limit=7),
    FlowFilter(ports=(22, 80, 443), protos=("tcp",), limit=None),
    FlowFilter(start=dt.datetime(2026, 3, 3, tzinfo=dt.UTC),
               end=dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC), limit=None),
], ids=["all", "limit", "ports", "window"])
def test_one_query_path_equals_select_edges_path(busy_ws, flt):
    fast = build_graph(busy_ws, Selection(flt=flt))
    joined = build_graph(busy_ws, Selection(flt=FlowFilter(**{**flt.__dict__,
                                                               "hosts": EVERYWHERE})))
    ref = select_edges(busy_ws, flt, per_port=False)
    assert fast.edges.column_names[:3] == ["source", "target", "label"]
    assert fast.edges.num_rows == ref.num_rows > 0
    assert _no_label(fast.edges).to_pylist() == [
        {("source" if k == "src_ip" else "target" if k == "dst_ip" else k): v
         for k, v in r.items()} for r in ref.to_pylist()]
    assert fast.edges.equals(joined.edges)
    assert fast.nodes.equals(joined.nodes)


def test_labels_list_the_busiest_ports_ties_by_name(busy_ws):
    port = build_graph(busy_ws, Selection(per_port=True)).edges.to_pylist()
    per_pair: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for r in port:
        per_pair.setdefault((r["source"], r["target"]), []).append((-r["flows"], r["label"]))
    want = {}
    for key, ports in per_pair.items():
        names = [name for _, name in sorted(ports)]
        want[key] = " ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")
    got = {(r["source"], r["target"]): r["label"]
           for r in build_graph(busy_ws).edges.to_pylist()}
    assert got == want
    assert any("+" in v for v in got.values())  # the data has pairs with more than 3 ports
    assert len({len(v) for v in per_pair.values()}) > 1


def test_degrees_per_pair_and_per_port_agree(busy_ws):
    pair = {r["id"]: r for r in build_graph(busy_ws).nodes.to_pylist()}
    port = {r["id"]: r for r in build_graph(busy_ws, Selection(per_port=True)).nodes.to_pylist()}
    assert pair == port


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_empty_selection_writes_every_format(busy_ws, tmp_path, fmt):
    sel = Selection(flt=FlowFilter(hosts=("198.51.100.1",), limit=None))
    report = export_graph(busy_ws, fmt, tmp_path / f"empty.{fmt}", sel)
    assert (report.nodes, report.edges) == (0, 0)
    assert report.bytes > 0
