"""ingest_files into a workspace: counts, dedup cases, rejects file, DuckDB, edges."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from graphflow.ingestion import ingest_files
from graphflow.query import workspace_info
from graphflow.workspace import Workspace
from tests.conftest import DATASETS, FLOWS, ZEEK_FIELDS, zeek_json, zeek_tsv


def check_invariant(report) -> None:
    assert report.read == report.loaded + report.rejected + report.duplicates
    for f in report.files:
        assert f.read == f.loaded + f.rejected + f.duplicates


def flow_count(ws_path: Path) -> int:
    return workspace_info(Workspace.open(ws_path)).flows


def test_first_ingest_and_reload_adds_nothing(conn_log: Path, ws_path: Path) -> None:
    r1 = ingest_files([conn_log], ws_path)
    check_invariant(r1)
    assert (r1.read, r1.loaded, r1.duplicates, r1.rejected) == (5, 5, 0, 0)
    r2 = ingest_files([conn_log], ws_path)
    check_invariant(r2)
    assert (r2.read, r2.loaded, r2.duplicates) == (5, 0, 5)
    assert flow_count(ws_path) == 5


def test_same_records_other_name_and_layout(tmp_path: Path, conn_log: Path,
                                            ws_path: Path) -> None:
    ingest_files([conn_log], ws_path)
    other = tmp_path / "renamed-conn.log"
    fields = list(reversed(ZEEK_FIELDS)) + ["extra"]
    other.write_text(zeek_tsv(FLOWS, fields))
    as_json = tmp_path / "conn.json"
    as_json.write_text(zeek_json(FLOWS))
    r = ingest_files([other, as_json], ws_path)
    check_invariant(r)
    assert (r.loaded, r.duplicates) == (0, 10)
    assert flow_count(ws_path) == 5


def test_half_overlapping_file(tmp_path: Path, ws_path: Path) -> None:
    a = tmp_path / "a.log"
    a.write_text(zeek_tsv(FLOWS[:3]))
    b = tmp_path / "b.log"
    b.write_text(zeek_tsv(FLOWS[1:]))
    assert ingest_files([a], ws_path).loaded == 3
    r = ingest_files([b], ws_path)
    assert (r.read, r.loaded, r.duplicates) == (4, 2, 2)
    assert flow_count(ws_path) == 5


def test_overlap_within_one_ingest(tmp_path: Path, ws_path: Path) -> None:
    a = tmp_path / "a.log"
    a.write_text(zeek_tsv(FLOWS[:3]))
    b = tmp_path / "b.log"
    b.write_text(zeek_tsv(FLOWS[1:]))
    r = ingest_files([a, b], ws_path)
    check_invariant(r)
    assert (r.read, r.loaded, r.duplicates) == (7, 5, 2)
    assert [f.loaded for f in r.files] == [3, 2]


def test_identical_lines_in_one_file_are_distinct_flows(tmp_path: Path, ws_path: Path) -> None:
    """Two genuinely distinct flows with equal fields (no uid) in one file are both kept."""
    fields = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "orig_bytes"]
    p = tmp_path / "twins.log"
    p.write_text(zeek_tsv([FLOWS[1], FLOWS[1], FLOWS[2]], fields))
    r = ingest_files([p], ws_path)
    assert (r.loaded, r.duplicates) == (3, 0)
    assert ingest_files([p], ws_path).loaded == 0
    # a file holding one of the twins only adds nothing either
    q = tmp_path / "single.log"
    q.write_text(zeek_tsv([FLOWS[1]], fields))
    assert ingest_files([q], ws_path).loaded == 0
    con = duckdb.connect()
    keys = con.execute(f"SELECT flow_key FROM read_parquet('{ws_path}/flows/*/*.parquet') "
                       "ORDER BY 1").fetchall()
    assert len({k for (k,) in keys}) == 3


def test_rejects_file_and_counts(tmp_path: Path, ws_path: Path) -> None:
    lines = zeek_tsv(FLOWS).splitlines()
    lines.insert(9, "garbage line")
    p = tmp_path / "bad.log"
    p.write_text("\n".join(lines) + "\n")
    r = ingest_files([p], ws_path)
    check_invariant(r)
    assert (r.read, r.loaded, r.rejected) == (6, 5, 1)
    assert r.rejects_file and Path(r.rejects_file).exists()
    text = Path(r.rejects_file).read_text().splitlines()
    assert text[0] == "source_file\tsource_line\treason\tline"
    assert text[1] == f"{p}\t10\texpected 21 tab-separated fields, got 1\tgarbage line"


def test_wrong_format_file_is_reported_and_others_load(tmp_path: Path, conn_log: Path,
                                                       ws_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01binary")
    r = ingest_files([junk, conn_log, tmp_path / "missing.log"], ws_path)
    assert r.loaded == 5
    errors = {Path(f.path).name: f.error for f in r.errors}
    assert "unrecognised format" in (errors["junk.bin"] or "")
    assert "no such file" in (errors["missing.log"] or "")


def test_directory_of_rotated_gz_logs(tmp_path: Path, ws_path: Path) -> None:
    import gzip

    d = tmp_path / "logs" / "2026-03-02"
    d.mkdir(parents=True)
    for i, chunk in enumerate((FLOWS[:2], FLOWS[2:4], FLOWS[4:])):
        (d / f"conn.0{i}:00:00-0{i + 1}:00:00.log.gz").write_bytes(
            gzip.compress(zeek_tsv(chunk).encode()))
    (d / "dns.00:00:00-01:00:00.log.gz").write_bytes(gzip.compress(b"#path\tdns\n"))
    r = ingest_files([tmp_path / "logs"], ws_path)
    assert len(r.files) == 3 and r.loaded == 5 and not r.errors


def test_duckdb_reads_workspace_as_is(conn_log: Path, ws_path: Path) -> None:
    ingest_files([conn_log], ws_path)
    info = workspace_info(Workspace.open(ws_path))
    con = duckdb.connect()
    (n,) = con.execute(
        f"SELECT count(*) FROM read_parquet('{ws_path}/flows/**/*.parquet', "
        "hive_partitioning = true)").fetchone()
    assert n == info.flows == 5
    days = con.execute(f"SELECT DISTINCT day FROM read_parquet('{ws_path}/flows/*/*.parquet', "
                       "hive_partitioning = true) ORDER BY 1").fetchall()
    assert [str(d) for (d,) in days] == ["2026-03-02", "2026-03-03"]


def test_edges_aggregate_flows(tmp_path: Path, ws_path: Path) -> None:
    extra = dict(FLOWS[1], uid="CZZZZZZZZZZZZZZZZ9", ts="1772438500.0")
    p = tmp_path / "e.log"
    p.write_text(zeek_tsv([*FLOWS, extra]))
    ingest_files([p], ws_path)
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT src_ip, dst_ip, dst_port, proto, flows, s0_flows, rej_flows, syn_only_flows, "
        f"src_bytes FROM read_parquet('{ws_path}/edges/*/*.parquet') "
        "WHERE src_ip = '203.0.113.7' ORDER BY dst_ip").fetchall()
    assert rows == [("203.0.113.7", "10.10.0.10", 23, "tcp", 2, 2, 0, 2, 88),
                    ("203.0.113.7", "10.10.0.11", 23, "tcp", 1, 0, 1, 1, 44)]
    info = workspace_info(Workspace.open(ws_path))
    (total,) = con.execute(
        f"SELECT sum(flows) FROM read_parquet('{ws_path}/edges/*/*.parquet')").fetchone()
    assert total == info.flows == 6
    assert info.hosts == 7 and info.edges == 5


@pytest.mark.skipif(not DATASETS.exists(), reason="shared datasets not present")
def test_every_real_zeek_file(ws_path: Path) -> None:
    files = sorted((DATASETS / "zeek").glob("*"))
    r = ingest_files(files, ws_path)
    check_invariant(r)
    for f in r.files:
        out = subprocess.run(["grep", "-vc", "^#", f.path], capture_output=True, text=True)
        assert f.read == int(out.stdout), f.path
        assert f.loaded == f.read - f.rejected
    again = ingest_files(files, ws_path)
    assert again.loaded == 0 and again.duplicates == r.loaded
    assert workspace_info(Workspace.open(ws_path)).flows == r.loaded == 808


def test_file_failing_half_way_leaves_nothing_behind(tmp_path: Path, ws_path: Path) -> None:
    """Rows a file already handed over before its fatal error are not loaded; others are."""
    bad = tmp_path / "a-turns-dns.log"
    bad.write_text(zeek_tsv(FLOWS[:3], close=False) + "#path\tdns\n" + "x\n")
    good = tmp_path / "b.log"
    good.write_text(zeek_tsv(FLOWS[3:]))
    r = ingest_files([bad, good], ws_path)
    check_invariant(r)
    assert "not a conn log" in (r.files[0].error or "")
    assert (r.files[0].read, r.files[0].loaded) == (0, 0)
    assert (r.read, r.loaded) == (2, 2)
    con = duckdb.connect()
    files = con.execute(f"SELECT DISTINCT source_file FROM read_parquet("
                        f"'{ws_path}/flows/*/*.parquet')").fetchall()
    assert files == [(str(good),)]
    # the failed file's flows are still new when a repaired copy arrives
    fixed = tmp_path / "a.log"
    fixed.write_text(zeek_tsv(FLOWS[:3]))
    assert ingest_files([fixed], ws_path).loaded == 3
    assert flow_count(ws_path) == 5


def test_blocks_spanning_days_are_partitioned_by_day(tmp_path: Path, ws_path: Path) -> None:
    """Batches holding flows of many days (out of order; more days than the writer keeps
    open at once) land in the right partitions, and a later ingest into the same days still
    deduplicates against them."""
    from graphflow.config import Config

    rows = []
    for i in range(300):
        day = (i * 7) % 40
        rows.append(dict(FLOWS[0], uid=f"C{i:017d}", ts=f"{1772438400 + day * 86400 + i}.5"))
    p = tmp_path / "days.log"
    p.write_text(zeek_tsv(rows))
    r = ingest_files([p], ws_path, config=Config(batch_bytes=8192))
    check_invariant(r)
    assert r.loaded == 300
    con = duckdb.connect()
    wrong = con.execute(
        f"SELECT count(*) FROM read_parquet('{ws_path}/flows/*/*.parquet', "
        "hive_partitioning = true) WHERE day <> CAST(ts AT TIME ZONE 'UTC' AS DATE)").fetchone()
    assert wrong == (0,)
    (days,) = con.execute(f"SELECT count(DISTINCT day) FROM read_parquet("
                          f"'{ws_path}/flows/*/*.parquet', hive_partitioning = true)").fetchone()
    assert days == 40
    (edges,) = con.execute(
        f"SELECT sum(flows) FROM read_parquet('{ws_path}/edges/*/*.parquet')").fetchone()
    assert edges == 300
    q = tmp_path / "days-again.log"
    q.write_text(zeek_tsv(rows[::2]))
    again = ingest_files([q], ws_path)
    assert (again.loaded, again.duplicates) == (0, 150)
    assert flow_count(ws_path) == 300


def test_edges_equal_one_aggregation_of_all_flows(tmp_path: Path, ws_path: Path) -> None:
    """The edges written after a load written in many blocks are exactly the aggregation of
    all the flows at once, every column; and so are those rebuilt when days already hold
    flows."""
    from graphflow.config import Config
    from graphflow.edges import EDGE_AGG_SQL

    def check() -> None:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW f AS SELECT * FROM read_parquet('{ws_path}/flows/*/*.parquet',"
                    " hive_partitioning = false)")
        want = con.execute(f"SELECT * FROM ({EDGE_AGG_SQL}) ORDER BY ALL").fetchall()
        got = con.execute(f"SELECT * EXCLUDE (day), day FROM read_parquet("
                          f"'{ws_path}/edges/*/*.parquet', hive_partitioning = true) "
                          "ORDER BY ALL").fetchall()
        cols = [d[0] for d in con.execute(f"SELECT * FROM ({EDGE_AGG_SQL}) LIMIT 0").description]
        want = sorted(tuple(r[1:]) + (r[0],) for r in want)
        assert cols[0] == "day"
        assert sorted(got) == want
        assert len(want) > 6

    rows = []
    for i in range(400):
        base = FLOWS[i % len(FLOWS)]
        rows.append(dict(base, uid=f"C{i:017d}", ts=f"{1772438400 + (i % 3) * 86400 + i}.25",
                         duration=f"{(i % 7) * 0.5}"))
    p = tmp_path / "blocks.log"
    p.write_text(zeek_tsv(rows))
    r = ingest_files([p], ws_path, config=Config(batch_bytes=4096))
    assert r.loaded == 400
    check()
    q = tmp_path / "more.log"
    q.write_text(zeek_tsv([dict(x, uid=x["uid"] + "b") for x in rows[::3]]))
    assert ingest_files([q], ws_path, config=Config(batch_bytes=4096)).loaded == 134
    check()
