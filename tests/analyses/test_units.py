"""Analyses on small, hand-checkable workspaces, and on the real Slips scan captures."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphflow.analyses import finding_flows, run_analysis
from graphflow.ingestion import ingest_files
from graphflow.workspace import Workspace
from tests.conftest import DATASETS, zeek_tsv

DAY = 1772438400  # 2026-03-02 08:00 UTC


def flow(ts: float, src: str, dst: str, port: int, state: str = "S0", opk: int = 1,
         rpk: int = 0, ob: int = 44, rb: int = 0, proto: str = "tcp", uid: str = "") -> dict:
    return {"ts": f"{ts:.6f}", "uid": uid or f"C{abs(hash((ts, src, dst, port))) % 10**17:017d}",
            "id.orig_h": src, "id.orig_p": "40000", "id.resp_h": dst, "id.resp_p": str(port),
            "proto": proto, "service": "-", "duration": "0.1", "orig_bytes": "0",
            "resp_bytes": "0", "conn_state": state, "local_orig": "F", "local_resp": "T",
            "missed_bytes": "0", "history": "S", "orig_pkts": str(opk),
            "orig_ip_bytes": str(ob), "resp_pkts": str(rpk), "resp_ip_bytes": str(rb),
            "tunnel_parents": "(empty)"}


def workspace(tmp_path: Path, rows: list[dict]) -> Workspace:
    p = tmp_path / "conn.log"
    p.write_text(zeek_tsv(rows))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([p], ws)
    return ws


def test_fanout_counts_unanswered_peers_only(tmp_path: Path) -> None:
    rows = [flow(DAY + i, "203.0.113.9", f"10.0.0.{i}", 22) for i in range(1, 6)]
    # a busy client: 6 peers, all answered
    rows += [flow(DAY + i, "10.0.1.1", f"198.51.100.{i}", 443, "SF", 10, 10, 900, 9000)
             for i in range(1, 7)]
    ws = workspace(tmp_path, rows)
    found = run_analysis(ws, "fanout_scanners", {"min_peers": 5})
    assert [(f.entity, f.figures["peers"], f.figures["flows"]) for f in found] == [
        ("203.0.113.9", 5, 5)]
    everyone = run_analysis(ws, "fanout_scanners", {"min_peers": 5, "count": "all"})
    assert sorted(f.entity for f in everyone) == ["10.0.1.1", "203.0.113.9"]
    both = run_analysis(ws, "fanout_scanners", {"min_peers": 5, "direction": "both"})
    assert [f.entity for f in both] == ["203.0.113.9"]
    assert len(finding_flows(ws, found[0].id)) == 5


def test_vertical_and_syn_only(tmp_path: Path) -> None:
    rows = [flow(DAY + i, "203.0.113.9", "10.0.0.5", 1000 + i, "REJ", 1, 1, 44, 40)
            for i in range(6)]
    rows += [flow(DAY + 100, "203.0.113.9", "10.0.0.5", 80, "SF", 10, 10, 900, 9000)]
    ws = workspace(tmp_path, rows)
    v = run_analysis(ws, "vertical_scans", {"min_ports": 6})
    assert [(f.entity, f.figures["max_ports_on_target"], f.figures["target"]) for f in v] == [
        ("203.0.113.9", 6, "10.0.0.5")]  # the data-bearing port 80 is not a probe
    s = run_analysis(ws, "syn_only_scans", {"min_flows": 6, "min_ratio": 0.8})
    assert [(f.entity, f.figures["failed"], f.figures["ratio"]) for f in s] == [
        ("203.0.113.9", 6, 0.8571)]
    assert run_analysis(ws, "syn_only_scans", {"min_flows": 6, "min_ratio": 0.9}) == []


def test_low_traffic_and_top_scanners_ties(tmp_path: Path) -> None:
    rows = []
    for i, peer in enumerate(["203.0.113.1", "203.0.113.2", "203.0.113.10"]):
        for host in range(1, 4 - (i == 2)):
            rows.append(flow(DAY + 10 * i + host, peer, f"10.0.0.{host}", 23))
    rows.append(flow(DAY + 99, "203.0.113.3", "10.0.0.1", 443, "SF", 40, 40, 9000, 90000))
    ws = workspace(tmp_path, rows)
    low = run_analysis(ws, "low_traffic")
    assert len(low) == 8 and all(f.figures["pkts"] == 1 for f in low)
    # numeric order: .2 before .10
    assert [f.entity for f in low][:3] == ["203.0.113.1"] * 3
    assert [f.entity for f in low][3:6] == ["203.0.113.2"] * 3
    top = run_analysis(ws, "top_scanners", {"ranking": "widest", "top_n": 1})
    assert [(f.entity, f.figures["rank"], f.figures["own_hosts"]) for f in top] == [
        ("203.0.113.1", 1, 3), ("203.0.113.2", 1, 3)]  # ties included
    # the next one down is rank 3 (two above it), as SQL's rank(): not in a top 2
    ranks = {n: [(f.entity, f.figures["rank"]) for f in run_analysis(
        ws, "top_scanners", {"ranking": "widest", "top_n": n})] for n in (2, 3)}
    assert ranks[2] == [("203.0.113.1", 1), ("203.0.113.2", 1)]
    assert ranks[3] == [("203.0.113.1", 1), ("203.0.113.2", 1), ("203.0.113.10", 3)]


def test_ingress_peak_and_weekly_rhythm(tmp_path: Path) -> None:
    rows = []
    for d in range(14):
        size = 1_000_000
        if d == 9:
            size = 60_000_000  # a one-off peak
        rows.append(flow(DAY + d * 86400, "10.0.0.7", "198.51.100.7", 443, "SF", 10, 50,
                         2000, size, uid=f"CA{d:016d}"))
        weekly = 40_000_000 if d % 7 == 0 else 1_000_000
        rows.append(flow(DAY + d * 86400 + 5, "10.0.0.8", "198.51.100.8", 443, "SF", 10, 50,
                         2000, weekly, uid=f"CB{d:016d}"))
    ws = workspace(tmp_path, rows)
    found = run_analysis(ws, "ingress_peaks", {"min_bytes": 10_000_000})
    assert [(f.entity, f.figures["day"], f.figures["ratio"]) for f in found] == [
        ("10.0.0.7", "2026-03-11", 60.0)]


@pytest.mark.skipif(not DATASETS.exists(), reason="shared datasets not present")
def test_slips_port_scans(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([DATASETS / "zeek" / "slips-portscan-vertical.conn.json.log",
                  DATASETS / "zeek" / "slips-portscan-horizontal.conn.log"], ws)
    v = run_analysis(ws, "vertical_scans")
    assert [(f.entity, f.members, f.figures["max_ports_on_target"]) for f in v] == [
        ("192.168.1.9", ["45.33.32.156"], 44)]
    h = run_analysis(ws, "fanout_scanners", {"min_peers": 25, "count": "all"})
    assert [(f.entity, f.figures["peers"]) for f in h] == [("10.0.2.112", 29)]


@pytest.mark.parametrize("name,param", [("fanout_scanners", "count"),
                                        ("fanout_scanners", "direction"),
                                        ("vertical_scans", "count"),
                                        ("coordinated_scanners", "group_by"),
                                        ("top_scanners", "ranking")])
def test_hostile_choice_parameters_are_refused(tmp_path: Path, name: str, param: str) -> None:
    from graphflow.errors import ConfigError

    ws = workspace(tmp_path, [flow(DAY, "203.0.113.9", "10.0.0.1", 22)])
    with pytest.raises(ConfigError):
        run_analysis(ws, name, {param: "failed) OR (1=1"})


def test_top_talkers_with_previous_week(tmp_path: Path) -> None:
    rows = []
    for d in range(14):
        big = 5_000_000 if d >= 7 else 1_000_000
        rows.append(flow(DAY + d * 86400, "10.0.0.7", "198.51.100.7", 443, "SF", 10, 50,
                         big, 1000, uid=f"CT{d:016d}"))
        rows.append(flow(DAY + d * 86400 + 1, "10.0.0.8", "198.51.100.7", 443, "SF", 10, 50,
                         2_000_000, 1000, uid=f"CU{d:016d}"))
    ws = workspace(tmp_path, rows)
    found = run_analysis(ws, "top_talkers", {"ranking": "bytes_out", "top_n": 1})
    assert [(f.entity, f.figures["value"], f.figures["previous"], f.figures["change_pct"])
            for f in found] == [("10.0.0.7", 35_000_000, 7_000_000, 400.0)]
    # outbound connections: both hosts tie at 7 this week, so both are rank 1 of a top 1
    flows = run_analysis(ws, "top_talkers", {"ranking": "outbound_flows", "top_n": 1})
    assert [(f.entity, f.figures["rank"], f.figures["value"]) for f in flows] == [
        ("10.0.0.7", 1, 7), ("10.0.0.8", 1, 7)]


def test_host_series_with_week_earlier(tmp_path: Path) -> None:
    import datetime as dt

    from graphflow.profiles import host_series, parse_port_groups

    rows = [flow(DAY, "198.51.100.7", "10.0.0.7", 443, "SF", 5, 5, 1000, 20000, uid="CP1"),
            flow(DAY + 60, "198.51.100.8", "10.0.0.7", 80, "SF", 5, 5, 500, 7000, uid="CP2"),
            flow(DAY + 7 * 86400, "198.51.100.7", "10.0.0.7", 443, "SF", 5, 5, 3000, 60000,
                 uid="CP3")]
    ws = workspace(tmp_path, rows)
    start = dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
    pts = host_series(ws, "10.0.0.7", start=start, end=start + dt.timedelta(days=1),
                      granularity="hour", port_groups=parse_port_groups("web=80+443"))
    assert [(p.bucket, p.port, p.sent, p.received, p.prev_sent, p.prev_received) for p in pts] == [
        ("2026-03-09T08:00:00Z", "web", 60000, 3000, 27000, 1500)]
