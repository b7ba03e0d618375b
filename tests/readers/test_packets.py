"""Packets -> flows: the folded-key ordering gives the same flows as the seven-key sort."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import ingest.packets as packets
from ingest.packets import Aggregator, Packets


def _blocks(seed: int, n: int = 6000, parts: int = 4) -> list[Packets]:
    rng = np.random.default_rng(seed)
    hosts = np.array([f"10.0.{i // 250}.{i % 250 + 1}" for i in range(40)] + ["2001:db8::1"])
    a, b = rng.integers(0, len(hosts), n), rng.integers(0, len(hosts), n)
    proto = rng.choice(np.array(["tcp", "udp", "icmp"]), n)
    ports = rng.choice(np.array([22, 53, 80, 443, 40000, 40001]), (2, n))
    ports = np.where(proto == "icmp", -1, ports)
    # mostly in time order, with jitter (out-of-order captures) and exact ties
    ts = np.sort(rng.uniform(0, 4000, n)).round(1) + rng.choice([0.0, 0.0, 0.0, -5.0], n)
    length = rng.integers(40, 1500, n)
    flags = np.where(proto == "tcp", rng.choice([2, 18, 16, 17, 4], n), -1)
    line = np.arange(1, n + 1, dtype=np.int64)
    cuts = np.linspace(0, n, parts + 1).astype(int)
    return [Packets.of_packets(ts[lo:hi], pa.array(hosts[a[lo:hi]]), pa.array(hosts[b[lo:hi]]),
                               ports[0, lo:hi].astype(np.int64), ports[1, lo:hi].astype(np.int64),
                               pa.array(proto[lo:hi]), length[lo:hi].astype(np.int64),
                               flags[lo:hi].astype(np.int64), line[lo:hi])
            for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]


def _flows(blocks: list[Packets], *, ordered: bool = False) -> list[tuple[object, ...]]:
    agg = Aggregator()
    out = [agg.push(p) for p in blocks]
    empty = Packets.of_packets(np.zeros(0), pa.array([], pa.string()), pa.array([], pa.string()),
                               *(np.zeros(0, np.int64),) * 2, pa.array([], pa.string()),
                               *(np.zeros(0, np.int64),) * 3)
    out.append(agg.push(empty, final=True))
    rows = []
    for f in out:
        rows += list(zip(f.line.tolist(), f.first.tolist(), f.last.tolist(), f.src.to_pylist(),
                         f.dst.to_pylist(), f.sport.tolist(), f.dport.tolist(),
                         f.proto.to_pylist(), f.fwd_bytes.tolist(), f.rev_bytes.tolist(),
                         f.fwd_pkts.tolist(), f.rev_pkts.tolist(), f.fwd_flags.tolist(),
                         f.rev_flags.tolist(), strict=True))
    return rows if ordered else sorted(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_folded_key_order_matches_lexsort(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packets, "_native", None)  # the numpy path sorts by key
    fast = _flows(_blocks(seed))

    def lexsort_order(first: np.ndarray, line: np.ndarray, *key: np.ndarray) -> np.ndarray:
        prid, lo_id, hi_id, lo_p, hi_p = key
        return np.lexsort((line, first, hi_p, lo_p, hi_id, lo_id, prid))

    monkeypatch.setattr(packets, "_key_order", lexsort_order)
    reference = _flows(_blocks(seed))
    assert fast == reference
    assert 0 < len(fast) < 6000  # packets did aggregate, and not into one flow


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("jump", [30 * 86400.0, -30 * 86400.0])
def test_a_packet_stamped_far_off_does_not_change_flows_by_block(seed: int, jump: float
                                                                 ) -> None:
    """One packet weeks ahead (or behind) of the others: read in one block or in twenty, the
    same flows (the block's clock is not the latest time of all, which would close every
    flow in the block the stray packet falls in)."""
    whole = Packets.concat(*_blocks(seed, parts=2))
    whole.first[2500] += jump  # (first is last for packets: the same array)
    one = _flows([whole])
    cuts = np.linspace(0, len(whole), 21).astype(int)
    many = _flows([whole.slice(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)])
    assert many == one
    assert sum(r[10] + r[11] for r in one) == len(whole)  # every packet in one flow
