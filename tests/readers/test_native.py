"""The native kernels (ingest/_native.c) against their numpy twins, on data made to collide:
few addresses and ports, self-connections, equal start times, unordered blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from ingest import stitch
from tests.readers.test_stitch import _block

SYN, ACK, RST, FIN = 0x02, 0x10, 0x04, 0x01
T0 = 1_700_000_000_000_000  # µs


def test_the_extension_is_built() -> None:
    # the numpy twins would pass every other test: this one says when the build lost it
    assert stitch._native is not None, "ingest._native was not built (a C compiler?)"


def _rows(seed: int, n: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    hosts = ["10.0.0.1", "2001:db8::1", "10.0.0.10"]
    ports = [-1, 53, 443, 40000]
    flag_set = [-1, 0, SYN, SYN | ACK, ACK, RST | ACK, FIN | ACK, SYN | FIN | ACK]
    rows = []
    for _ in range(n):
        src, dst = rng.choice(hosts, 2)  # replace=True: self-connections too
        sp, dp = (int(p) for p in rng.choice(ports, 2))
        ts = T0 + int(rng.integers(0, 20)) * 1_000_000 * int(rng.choice([1, 1, 30]))
        # whole seconds too, so that times meet exactly at the window's edge
        end = ts + int(rng.choice([0, 1_000_000, 2_000_000, int(rng.integers(0, 5_000_000))]))
        proto = str(rng.choice(["tcp", "tcp", "udp", "icmp"]))
        rows.append(dict(ts=ts, end=end, src_ip=str(src), dst_ip=str(dst), proto=proto,
                         src_port=None if sp < 0 else sp, dst_port=None if dp < 0 else dp,
                         flags=int(rng.choice(flag_set)), src_bytes=int(rng.integers(40, 900)),
                         src_pkts=int(rng.integers(1, 9)), dst_bytes=0, dst_pkts=0))
    if seed % 2:
        rows.sort(key=lambda r: r["ts"])
    return rows


def _inputs(t: pa.Table) -> tuple[Any, ...]:
    ts = stitch._np(t.column("ts").cast(pa.int64()))
    end = np.maximum(stitch._np(t.column(stitch.END)), ts)
    return (t, ts, end, stitch._np(t.column(stitch.FLAGS), -1),
            stitch._np(t.column("src_port").cast(pa.int64()), -1),
            stitch._np(t.column("dst_port").cast(pa.int64()), -1))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("window_us", [0, 2_000_000, 60_000_000])
def test_pairs_native_equals_numpy(seed: int, window_us: int) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    t = _block(_rows(seed, 400))
    args = _inputs(t)
    fwd_a, orig_a, resp_a, abs_a = stitch._pairs_numpy(*args, window_us)
    fwd_b, orig_b, resp_b, abs_b = stitch._pairs_native(*args, window_us)
    # the orientation may be named the other way round per 5-tuple; the pairs may not differ
    assert sorted(zip(orig_a.tolist(), resp_a.tolist(), strict=True)) == sorted(
        zip(orig_b.tolist(), resp_b.tolist(), strict=True))
    assert abs_a.tolist() == abs_b.tolist()
    # the data exercises both rules (leftovers need a window to meet their pair)
    assert len(orig_a) > 5 and ((abs_a >= 0).sum() > 0 or window_us == 0)
    assert (fwd_a[orig_a] != fwd_a[resp_a]).all() and (fwd_b[orig_b] != fwd_b[resp_b]).all()


@pytest.mark.parametrize("seed", range(6))
def test_stitcher_output_is_the_same_either_way(seed: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    rows = _rows(100 + seed, 900)
    blocks = [_block(rows[i:i + 300]) for i in range(0, 900, 300)]

    def run() -> tuple[list[dict[str, Any]], int]:
        s = stitch.Stitcher(window_s=10)
        out = [s.push(b) for b in blocks] + [s.push(blocks[0].slice(0, 0), final=True)]
        return pa.concat_tables(out).to_pylist(), s.stitched

    native = run()
    monkeypatch.setattr(stitch, "_native", None)
    reference = run()
    assert native == reference
    assert native[1] > 0
