"""Flow keys: content-derived, sensitive to every keyed field, blind to provenance."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from graphflow.errors import WorkspaceError
from graphflow.flowkey import flow_keys, text_words
from graphflow.workspace import Workspace

BASE: dict[str, Any] = {
    "ts": dt.datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=dt.UTC), "src_ip": "10.0.0.1",
    "src_port": 40000, "dst_ip": "2001:db8::1:2:3:4", "dst_port": 443, "proto": "tcp",
    "duration": 1.5, "src_bytes": 100, "dst_bytes": 2000, "src_pkts": 3, "dst_pkts": 4,
    "state": "SF", "tcp_flags": "ShADadFf", "service": "ssl", "label": None,
    "source_file": "/a/conn.log", "source_line": 7, "_native_id": None,
}
TYPES = {"ts": pa.timestamp("us", tz="UTC"), "src_port": pa.int64(), "dst_port": pa.int64(),
         "duration": pa.float64(), "src_bytes": pa.int64(), "dst_bytes": pa.int64(),
         "src_pkts": pa.int64(), "dst_pkts": pa.int64(), "source_line": pa.int64()}


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.table({k: pa.array([r[k] for r in rows], TYPES.get(k, pa.string()))
                     for k in BASE})


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    return flow_keys(_table(rows), "_native_id")[0].to_pylist()


CHANGES = {
    "ts": BASE["ts"] + dt.timedelta(microseconds=1), "src_ip": "10.0.0.10",
    "src_port": 40001, "dst_ip": "2001:db8::1:2:3:5", "dst_port": None, "proto": "udp",
    "duration": 1.500001, "src_bytes": 0, "dst_bytes": None, "src_pkts": 30, "dst_pkts": 0,
    "state": "S1", "tcp_flags": "ShADadF",
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_every_keyed_field_changes_the_key(field: str) -> None:
    a, b = _keys([BASE, {**BASE, field: CHANGES[field]}])
    assert a != b and len(a) == 32 and int(a, 16) >= 0


def test_provenance_and_unkeyed_fields_do_not_change_it() -> None:
    other = {**BASE, "source_file": "/b/x.log", "source_line": 99, "service": None,
             "label": "Botnet"}
    a, b = _keys([BASE, other])
    assert a == b


def test_native_id_replaces_the_counters() -> None:
    with_id = {**BASE, "_native_id": "CHhAvVGS1DHFjwGM9"}
    a, b, c = _keys([with_id, {**with_id, "src_bytes": 999, "state": "OTH"},
                     {**with_id, "_native_id": "CHhAvVGS1DHFjwGM8"}])
    assert a == b and a != c and a not in _keys([BASE])


def test_text_words_per_value_equals_per_row() -> None:
    """Long, low-cardinality columns are worked out per distinct value: same words."""
    values = ["tcp", "udp", "", None, "icmp", "x" * 41, "ü€"] * 1000
    rng = np.random.default_rng(3)
    values = [values[i] for i in rng.permutation(len(values))]
    arr = pa.array(values, pa.string())
    assert len(arr) >= 4096
    per_row = np.array([text_words(pa.array([v], pa.string()))[0] for v in values[:300]])
    assert (text_words(arr)[:300] == per_row).all()
    assert (text_words(arr.slice(5))[:100] == text_words(arr)[5:105]).all()
    words = {v: int(text_words(pa.array([v], pa.string()))[0]) for v in set(values)}
    assert len(set(words.values())) == len(words) and words[None] == 0
    for n in (3, 5000):  # all null: short and long columns
        assert (text_words(pa.nulls(n, pa.string())) == 0).all()


def test_text_words_equal_lengths_match_the_general_path() -> None:
    """Columns whose strings all have one length (sensor ids) take a matrix shortcut: the
    words are those of the general path (forced here by one string of another length)."""
    rng = np.random.default_rng(5)
    for width in (1, 7, 8, 9, 18, 24):
        values = ["".join(rng.choice(list("abcXYZ019~"), width)) for _ in range(500)]
        fixed = pa.array(values, pa.string())
        general = text_words(pa.array([*values, "q" * (width + 1)], pa.string()))[:-1]
        assert (text_words(fixed) == general).all(), width
        assert (text_words(fixed.slice(7)) == general[7:]).all(), width


def test_older_workspace_is_refused_with_advice(tmp_path: Path) -> None:
    Workspace.open(tmp_path / "ws")
    assert Workspace.is_current(tmp_path / "ws")
    marker = tmp_path / "ws" / "WORKSPACE"
    marker.write_text(json.dumps({"format": "graphflow-workspace", "version": 1}))
    with pytest.raises(WorkspaceError, match="ingest the files again"):
        Workspace.open(tmp_path / "ws")
    assert not Workspace.is_current(tmp_path / "ws")
    assert not Workspace.is_current(tmp_path / "nowhere")
