"""Plots: series against a direct count over the flows, the week-earlier series, log scales,
and the CLI's images (valid PNG/SVG) with their JSON equal to the library's series."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from graphflow.cli import _json_default, main
from graphflow.errors import GraphFlowError
from graphflow.ingestion import ingest_files
from graphflow.plots import (
    PORT_GROUPS,
    country_series,
    figure,
    render,
    resolve_ports,
    top_series,
    use_log,
    volume_series,
)
from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv
from tests.report.helpers import country_of

COLS = ["ts", "src_ip", "dst_ip", "dst_port", "src_bytes", "dst_bytes", "src_pkts", "dst_pkts"]


def _flows(ws: Workspace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in ws.flow_files():
        out += pq.read_table(f, columns=COLS).to_pylist()
    return out


def _oracle(flows: list[dict[str, Any]], host: str, ports: list[int], step: dt.timedelta
            ) -> dict[dt.datetime, dict[str, int]]:
    """Per bucket start: the six series, by plain Python over every flow of the host."""
    acc: dict[dt.datetime, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in flows:
        if host not in (r["src_ip"], r["dst_ip"]) or (ports and r["dst_port"] not in ports):
            continue
        t = r["ts"].astimezone(dt.UTC)
        b = (t.replace(minute=0, second=0, microsecond=0) if step == dt.timedelta(hours=1)
             else t.replace(hour=0, minute=0, second=0, microsecond=0))
        sb, db_, sp, dp = (r[k] or 0 for k in ("src_bytes", "dst_bytes", "src_pkts", "dst_pkts"))
        v = acc[b]
        if r["src_ip"] == host:
            v["sent_flows"] += 1
            v["sent_bytes"] += sb
            v["received_bytes"] += db_
            v["sent_packets"] += sp
            v["received_packets"] += dp
        if r["dst_ip"] == host:
            v["received_flows"] += 1
            v["sent_bytes"] += db_
            v["received_bytes"] += sb
            v["sent_packets"] += dp
            v["received_packets"] += sp
    return acc


def _busiest(flows: list[dict[str, Any]], ports: list[int]) -> str:
    n: dict[str, int] = defaultdict(int)
    for r in flows:
        if r["dst_port"] in ports:
            n[r["dst_ip"]] += 1
    return max(n, key=lambda k: (n[k], k))


def _t(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.mark.parametrize(("granularity", "group"), [("hour", "web"), ("day", None),
                                                    ("day", "ssh")])
def test_volume_equals_a_direct_count(gen15, granularity: str, group: str | None) -> None:
    ws, _ = gen15
    flows = _flows(ws)
    ports = PORT_GROUPS[group] if group else []
    host = _busiest(flows, ports or PORT_GROUPS["web"])
    doc = volume_series(ws, host, ports=group, granularity=granularity)
    step = dt.timedelta(hours=1) if granularity == "hour" else dt.timedelta(days=1)
    want = _oracle(flows, host, ports, step)
    assert doc["ports"] == sorted(ports)
    buckets = [_t(b) for b in doc["buckets"]]
    assert all(b - a == step for a, b in zip(buckets, buckets[1:], strict=False))
    assert set(want) <= set(buckets)  # every bucket with traffic is in the window
    total = 0
    for i, b in enumerate(buckets):
        for k, series in doc["current"].items():
            assert series[i] == want.get(b, {}).get(k, 0), (b, k)
            total += series[i]
    assert total > 0
    # the week-earlier series is the same count seven days before; None before the data
    assert doc["week_ago"] is not None
    data_first = min(r["ts"] for r in flows).astimezone(dt.UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    for i, b in enumerate(buckets):
        prev = b - dt.timedelta(days=7)
        for k, series in doc["week_ago"].items():
            if prev + step <= data_first:
                assert series[i] is None, (b, k)
            else:
                assert series[i] == want.get(prev, {}).get(k, 0), (b, k)
    present = [v for v in doc["week_ago"]["sent_flows"] if v is not None]
    assert len(present) >= len(buckets) - 8 * (24 if granularity == "hour" else 1)


def test_week_ago_only_where_the_data_allows(gen15) -> None:
    ws, truth = gen15
    host = _busiest(_flows(ws), PORT_GROUPS["web"])
    start = dt.datetime.fromisoformat(truth["start"]).replace(tzinfo=dt.UTC)
    early = volume_series(ws, host, granularity="day", start=start,
                          end=start + dt.timedelta(days=4))
    assert early["week_ago"] is None  # nothing a week before the first days
    late = volume_series(ws, host, granularity="day", start=start + dt.timedelta(days=8),
                         end=start + dt.timedelta(days=15))
    assert late["week_ago"] is not None and None not in late["week_ago"]["sent_bytes"]
    full = volume_series(ws, host, granularity="day")
    # daily, 15 days: day i's week-ago value is day i-7's value
    for k, cur in full["current"].items():
        prev = full["week_ago"][k]
        assert prev[:7] == [None] * 7
        assert prev[7:] == cur[:-7]
    for k in late["current"]:
        assert late["week_ago"][k] == full["current"][k][1:8]


def _small_ws(tmp_path: Path, rows: list[dict[str, str]]) -> Workspace:
    log = tmp_path / "conn.log"
    log.write_text(zeek_tsv(rows))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([log], ws)
    return ws


def test_log_scale_when_the_data_spans_decades(tmp_path: Path) -> None:
    base = FLOWS[0]  # 10.10.1.5 -> 10.10.0.10:22
    rows = []
    for i, size in enumerate((100, 1_000, 5_000_000, 300)):
        rows.append(dict(base, ts=f"{1772438400 + 3600 * i}.5", uid=f"CLOG{i}",
                         orig_bytes=str(size), orig_ip_bytes=str(size + 40),
                         resp_bytes="10", resp_ip_bytes="50", orig_pkts="3", resp_pkts="4"))
    ws = _small_ws(tmp_path, rows)
    doc = volume_series(ws, "10.10.0.10", port=22, granularity="hour")
    assert len(doc["buckets"]) == 4
    assert doc["log_scale"] == {"flows": False, "bytes": True, "packets": False}
    assert doc["week_ago"] is None
    assert use_log([1, 100]) is False and use_log([1, 101]) is True
    out = render(doc, tmp_path / "v.svg")
    svg = out.read_text()
    ET.fromstring(svg)  # well-formed
    import matplotlib.pyplot as plt

    fig = figure(doc)  # the drawn axes follow the document: bytes logarithmic, others linear
    assert [ax.get_yscale() for ax in fig.axes] == ["linear", "symlog", "linear"]
    plt.close(fig)
    flat = volume_series(ws, "10.10.0.10", port=23, granularity="hour", start=_t(
        doc["start"]), end=_t(doc["end"]))
    assert flat["log_scale"] == {"flows": False, "bytes": False, "packets": False}


def test_ports_and_errors() -> None:
    assert resolve_ports(ports="web,ssh") == ("web,ssh", [22, 80, 443, 8080])
    for bad in ("nope", "70000"):
        with pytest.raises(GraphFlowError):
            resolve_ports(ports=bad)
    with pytest.raises(GraphFlowError):
        resolve_ports(22, "web")


def _png_ok(path: Path) -> None:
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    img = matplotlib.image.imread(str(path))
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert img.std() > 0.01  # not a blank image


def _same(doc: dict[str, Any], side: Path) -> None:
    assert json.loads(side.read_text()) == json.loads(json.dumps(doc, default=_json_default))


def test_cli_writes_image_and_series(gen15, tmp_path: Path) -> None:
    ws, _ = gen15
    host = _busiest(_flows(ws), PORT_GROUPS["web"])
    r = CliRunner()
    out = tmp_path / "v.png"
    res = r.invoke(main, ["plot", "volume", "-w", str(ws.root), "--host", host, "--ports",
                          "web", "--hourly", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {"image": str(out), "series": str(out.with_suffix(".json"))}
    _png_ok(out)
    _same(volume_series(ws, host, ports="web", granularity="hour"), out.with_suffix(".json"))

    out = tmp_path / "d.svg"
    res = r.invoke(main, ["plot", "volume", "-w", str(ws.root), "--host", host, "--port", "443",
                          "--daily", "--from", "2026-03-05", "--to", "2026-03-12", "-o", str(out)])
    assert res.exit_code == 0, res.output
    root = ET.fromstring(out.read_text())
    assert root.tag.endswith("svg")
    doc = volume_series(ws, host, port=443, granularity="day",
                        start=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
                        end=dt.datetime(2026, 3, 12, tzinfo=dt.UTC))
    assert len(doc["buckets"]) == 7
    _same(doc, out.with_suffix(".json"))

    out = tmp_path / "top.png"
    res = r.invoke(main, ["plot", "top", "talkers", "-w", str(ws.root), "-n", "7",
                          "--metric", "packets", "--direction", "received", "-o", str(out)])
    assert res.exit_code == 0, res.output
    _png_ok(out)
    _same(top_series(ws, "talkers", n=7, metric="packets", direction="received"),
          out.with_suffix(".json"))

    out = tmp_path / "scan.png"
    res = r.invoke(main, ["plot", "top", "scanners", "-w", str(ws.root), "--ranking", "active",
                          "-n", "3", "-o", str(out)])
    assert res.exit_code == 0, res.output
    _png_ok(out)
    _same(top_series(ws, "scanners", n=3, ranking="active"), out.with_suffix(".json"))

    out = tmp_path / "c.png"
    res = r.invoke(main, ["plot", "countries", "-w", str(ws.root), "-o", str(out)])
    assert res.exit_code == 0, res.output
    _png_ok(out)
    _same(country_series(ws), out.with_suffix(".json"))

    bad = r.invoke(main, ["plot", "volume", "-w", str(ws.root), "--host", host, "-o",
                          str(tmp_path / "x.gif")])
    assert bad.exit_code != 0 and "png or .svg" in bad.output
    bad = r.invoke(main, ["plot", "volume", "-w", str(ws.root), "--host", "192.0.2.99", "-o",
                          str(tmp_path / "x.png")])
    assert bad.exit_code == 1 and "no flows of 192.0.2.99" in bad.output


def test_top_talkers_equal_a_direct_count(gen15) -> None:
    ws, _ = gen15
    flows = _flows(ws)
    sent: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for r in flows:
        sb, db_ = r["src_bytes"] or 0, r["dst_bytes"] or 0
        sent[r["src_ip"]] += sb
        sent[r["dst_ip"]] += db_
        total[r["src_ip"]] += sb + db_
        total[r["dst_ip"]] += sb + db_
    for direction, want in (("sent", sent), ("total", total)):
        doc = top_series(ws, "talkers", n=10, direction=direction)
        expected = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        assert [(b["label"], b["value"]) for b in doc["bars"]] == expected
        assert doc["log_scale"] == use_log([v for _, v in expected])


def test_scanners_by_country(gen15) -> None:
    ws, truth = gen15
    doc = country_series(ws)
    listed = [ip for r in doc["countries"] for ip in r["ips"]]
    assert len(listed) == len(set(listed)) > 0
    for r in doc["countries"]:
        assert r["scanners"] == len(r["ips"])
        assert {country_of(ip) for ip in r["ips"]} == {r["country"]}
        assert all(r["findings"][ip] for ip in r["ips"])
    counts = [r["scanners"] for r in doc["countries"]]
    assert counts == sorted(counts, reverse=True)
    planted = {p["entity"] for p in truth["positives"] if p["analysis"] in (
        "fanout_scanners", "vertical_scans", "syn_only_scans", "low_and_slow",
        "scanner_got_in") and not p["entity"].startswith("10.")}
    assert planted <= set(listed)
