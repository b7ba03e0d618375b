"""The native kernels (ingest/_native.c) against their numpy twins, on data made to collide:
few addresses and ports, self-connections, equal start times, unordered blocks."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import packets, stitch
from ingest.packets import Packets
from tests.readers.test_packets import _flows
from tests.readers.test_stitch import _block

SYN, ACK, RST, FIN = 0x02, 0x10, 0x04, 0x01
T0 = 1_700_000_000_000_000  # µs


def test_the_extension_is_built() -> None:
    # the numpy twins would pass every other test: this one says when the build lost it
    assert stitch._native is not None, "ingest._native was not built (a C compiler?)"
    assert packets._native is stitch._native


#: addresses that meet the kernels' word-wise compares at their edges: one word, two words
#: differing in the last byte, a prefix of another, more than two words (memcmp)
_EDGE_HOSTS = ["10.0.0.1", "10.0.0.10", "192.168.100.200", "192.168.100.201",
               "2001:db8:0:0:1:2:3:4", "2001:db8:0:0:1:2:3:5"]


def _rows(seed: int, n: int, hosts: list[str] | None = None) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    hosts = hosts or ["10.0.0.1", "2001:db8::1", "10.0.0.10"]
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


@pytest.mark.parametrize("seed", range(4))
def test_pairs_native_equals_numpy_on_edge_addresses(seed: int) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    args = _inputs(_block(_rows(seed, 3000, _EDGE_HOSTS)))
    _, orig_a, resp_a, abs_a = stitch._pairs_numpy(*args, 2_000_000)
    fwd_b, orig_b, resp_b, abs_b = stitch._pairs_native(*args, 2_000_000)
    assert sorted(zip(orig_a.tolist(), resp_a.tolist(), strict=True)) == sorted(
        zip(orig_b.tolist(), resp_b.tolist(), strict=True))
    assert abs_a.tolist() == abs_b.tolist()
    assert len(orig_a) > 20 and (fwd_b[orig_b] != fwd_b[resp_b]).all()


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


def _packet_blocks(seed: int, n: int = 5000, parts: int = 3, timed: bool = True,
                   captured: bool = False) -> list[Packets]:
    """Packets of few 5-tuples over hours (flows longer than the active timeout), equal times,
    out-of-order lines, and one sparse pair whose gaps are exactly the idle timeout or more."""
    rng = np.random.default_rng(seed)
    hosts = np.array(["10.0.0.1", "2001:db8::1"])
    a, b = rng.integers(0, len(hosts), n), rng.integers(0, len(hosts), n)
    src, dst = hosts[a].astype(object), hosts[b].astype(object)
    proto = rng.choice(np.array(["tcp", "udp", "icmp"]), n, p=[.45, .45, .1])
    ports = rng.choice(np.array([53, 443]), (2, n))
    ports = np.where(proto == "icmp", -1, ports)
    ts = np.cumsum(rng.choice([0.0, 0.5, 1.0, 2.0], n)) + rng.choice([0.0] * 5 + [-3.0], n)
    sparse = rng.random(n) < 0.1
    src[sparse], dst[sparse] = "192.0.2.9", "192.0.2.10"
    ts[sparse] = np.sort(rng.integers(0, 60, sparse.sum())) * 120.0
    if not timed:
        ts = np.full(n, np.nan)
    length = rng.integers(40, 1500, n)
    flags = np.where(proto == "tcp", rng.choice([-1, 0, 2, 18, 16, 17, 4], n), -1)
    line = rng.permutation(n).astype(np.int64) + 1 if seed % 2 else np.arange(1, n + 1)
    if captured:  # as a capture is: in time order, lines counting up (the one-pass walk)
        ts, line = np.sort(ts), np.arange(1, n + 1)
    cuts = np.linspace(0, n, parts + 1).astype(int)
    return [Packets.of_packets(ts[lo:hi], pa.array(src[lo:hi], pa.string()),
                               pa.array(dst[lo:hi], pa.string()),
                               ports[0, lo:hi].astype(np.int64), ports[1, lo:hi].astype(np.int64),
                               pa.array(proto[lo:hi]), length[lo:hi].astype(np.int64),
                               flags[lo:hi].astype(np.int64), line[lo:hi].astype(np.int64))
            for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("timed,captured,plain", [(True, False, True), (True, True, True),
                                                  (False, False, True), (True, True, False)])
def test_aggregate_native_equals_numpy(seed: int, timed: bool, captured: bool, plain: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Same flows, same order; ``plain=False``: packets given as partial flows (every
    counter read, not the packet form the kernel takes beside the carried flows)."""
    if packets._native is None:
        pytest.skip("not built")
    def run() -> list[tuple[object, ...]]:
        blocks = _packet_blocks(seed, timed=timed, captured=captured)
        rows = _flows([dataclasses.replace(b, plain=plain) for b in blocks], ordered=True)
        return [tuple(None if x != x else x for x in r) for r in rows]  # NaN: no time

    native = run()
    monkeypatch.setattr(packets, "_native", None)
    reference = run()
    assert native == reference  # same flows, same order
    assert 10 < len(native) < 5000
    if timed:  # the data reaches both timeouts
        ends: dict[tuple[object, ...], float] = {}
        active_cut = False
        for r in sorted(native, key=lambda r: r[1]):
            key = tuple(sorted([(r[3], r[5]), (r[4], r[6])])) + (r[7],)
            # a flow starting within the idle timeout of the previous one: the active cut
            active_cut |= key in ends and r[1] - ends[key] <= 120
            ends[key] = r[2]
        assert active_cut
        sparse = [r for r in native if r[3] in ("192.0.2.9", "192.0.2.10")]
        assert any(r[2] - r[1] >= 120 for r in sparse)  # an exact idle gap kept the flow


# -- parse_lines: the native reading of plain delimited lines against Arrow's CSV reader ----

_PLAIN = {  # forms the native parser reads itself
    "int": ["0", "7", "-12", "007", "123456789012345678", ""],
    "float": ["0", "1.5", "-0.25", "1700000000.050812", "0.1", "0.3", "4.35", "123.456",
              "0.000123", "9007199254740.992", "9007199254740.993", "12345678901234567.5",
              "3.14159265358979323846", "-0.0", ""],
    "ts": ["2023-11-14 22:13:20", "2023-11-14 22:13:20.050812", "2024-02-29 00:00:00.5",
           "1999-12-31 23:59:59.000001", ""],
    "text": ["10.0.0.1", "tcp", "a b", "", "x" * 40],
}
_ODD = {  # forms left to Arrow (read the same there, or rejected there)
    "int": ["+5", " 5", "1e3", "1234567890123456789", "0x10", "5 "],
    "float": ["1e5", "1.", ".5", "nan", "inf", "+1.0", "1,5"],
    "ts": ["2023-11-14T22:13:20", "2023-02-29 00:00:00", "2023-11-14 22:13:20.1234567",
           "2023-11-14", "2023-11-14 24:00:00", "2023-11-14 22:13:60", "2023-11-14 22:13:20Z"],
    "text": ["caf\u00e9", 'say "hi"', "a\r"],
}
_TYPES = {"int": pa.int64(), "float": pa.float64(), "ts": pa.timestamp("us")}


def _parse_both(lines: list[str], monkeypatch: pytest.MonkeyPatch, delimiter: str = ",",
                quoted: bool = True) -> tuple[Any, Any, bool]:
    from ingest import base
    names = ["int", "skip", "float", "ts", "text", "tail1", "tail2"]
    arr = pa.array(lines, pa.string())
    nos = np.arange(1, len(lines) + 1)
    used: list[bool] = []
    real = base._native_delimited

    def spy(*a: Any) -> Any:
        got = real(*a)
        used.append(got is not None)
        return got

    monkeypatch.setattr(base, "_native_delimited", spy)

    def run() -> Any:
        d = base.parse_delimited("x", arr, nos, names, delimiter, quoted=quoted,
                                 include=["int", "float", "ts", "text"], types=_TYPES)
        rows = [{k: "NaN" if v != v else v for k, v in r.items()} for r in d.table.to_pylist()]
        return rows, [(r.line, r.reason) for r in d.rejects], d.line_nos.tolist()

    native = run()
    monkeypatch.setattr(base, "native_kernels", None)
    arrow = run()
    return native, arrow, bool(used and used[0])


def _line(values: dict[str, str], d: str = ",") -> str:
    return d.join([values["int"], "s", values["float"], values["ts"], values["text"], "t",
                   "u"]) + "\n"


@pytest.mark.parametrize("column", list(_PLAIN))
def test_parse_lines_reads_plain_forms_as_arrow_does(column: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    base_row = {"int": "1", "float": "2.5", "ts": "2023-01-01 00:00:00", "text": "a"}
    # enough rows for both threads, every plain form of the column among them
    lines = [_line({**base_row, column: v}) for v in _PLAIN[column] * 40]
    native, arrow, used = _parse_both(lines, monkeypatch)
    assert used, "the native parser left plain lines to Arrow"
    assert native == arrow


@pytest.mark.parametrize("column,value", [(c, v) for c, vs in _ODD.items() for v in vs])
def test_parse_lines_leaves_other_forms_to_arrow(column: str, value: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    base_row = {"int": "1", "float": "2.5", "ts": "2023-01-01 00:00:00", "text": "a"}
    lines = [_line(base_row)] * 150 + [_line({**base_row, column: value})] + [
        _line(base_row)] * 3
    native, arrow, used = _parse_both(lines, monkeypatch)
    assert not used
    assert native == arrow


@pytest.mark.parametrize("bad", ["1,s,2.5\n", "1,s,2.5,2023-01-01 00:00:00,a,t,u,v\n",
                                 "1,s,2.5,2023-01-01 00:00:00,a\rb,t,u\n"])
def test_parse_lines_bails_on_wrong_shapes(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    good = _line({"int": "1", "float": "2.5", "ts": "2023-01-01 00:00:00", "text": "a"})
    native, arrow, used = _parse_both([good] * 100 + [bad] + [good] * 100, monkeypatch)
    assert not used
    assert native == arrow
    assert len(native[1]) == 1  # the line is a reject, the others are kept


def test_parse_lines_tab_separated_unquoted(monkeypatch: pytest.MonkeyPatch) -> None:
    if stitch._native is None:
        pytest.skip("not built")
    row = {"int": "3", "float": "0.5", "ts": "2023-01-01 00:00:00", "text": 'say "hi"'}
    native, arrow, used = _parse_both([_line(row, "\t")] * 200, monkeypatch, "\t", False)
    assert used and native == arrow
    assert native[0][0]["text"] == 'say "hi"'  # a quote is text when quoting is off


@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n\n", b"abc", b"a\nbc", b"ab\nc\n\nd\n",
                                  bytes(range(256)) * 50 + b"tail"])
def test_line_ends_native_equals_numpy(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    native = base.line_offsets(data, step=7)
    monkeypatch.setattr(base, "native_kernels", None)
    assert native.tolist() == base.line_offsets(data, step=7).tolist()
    assert native.dtype == np.int32


_TOKENS = ["0", "7", "12", "-", ".", " ", "e", ":", "T", "Z", "+", "x", "2023-11-14", "22:13:20",
           "2023-02-29 00:00:00", "1700000000.050812", "9007199254740993", "\u00e9", '"', "00",
           "123456789012345678901"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.lists(st.sampled_from(_TOKENS), max_size=4), min_size=4,
                         max_size=4), min_size=1, max_size=6),
       st.sampled_from([1, 40]))
def test_parse_lines_agrees_with_arrow_on_any_tokens(rows: list[list[list[str]]], repeat: int
                                                    ) -> None:
    # fuzz: fields glued from tricky tokens; whatever the native parser accepts must read as
    # Arrow reads it, and whatever it leaves must be left whole (rejects included)
    if stitch._native is None:
        pytest.skip("not built")
    lines = [",".join(["".join(f[0]), "s", "".join(f[1]), "".join(f[2]), "".join(f[3]), "t",
                       "u"]) + "\n" for f in rows] * repeat
    with pytest.MonkeyPatch.context() as mp:
        native, arrow, _ = _parse_both(lines, mp)  # never raises: bad lines are rejects
        assert native == arrow


def test_a_quote_that_never_closes_is_a_reject_not_a_crash(tmp_path: Any) -> None:
    import ingest
    lines = ["StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes\n"]
    row = "2023-01-01 00:00:{:02d}.5,0.1,tcp,10.0.0.1,4000{},->,10.0.0.2,80,CON,2,200\n"
    lines += [row.format(i % 60, i % 10) for i in range(300)]
    lines[150] = '2023-01-01 00:00:10.5,0.1,tcp,"10.0.0.1,40001,->,10.0.0.2,80,CON,2,200\n'
    f = tmp_path / "q.binetflow"
    f.write_text("".join(lines))
    batches = list(ingest.read_file(ingest.get_reader("argus"), f))
    rejects = [r for b in batches for r in b.rejects]
    assert [r.line for r in rejects] == [151] and "double quote" in rejects[0].reason
    assert sum(b.table.num_rows for b in batches) == 299


_ADDRESSES = ["10.0.0.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "010.0.0.1", "1.2.3",
              "1.2.3.4.5", "1.2.3.04", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.",
              "1234.1.1.1", "", "2001:DB8::1", "2001:db8::1", "::ffff:1.2.3.4", "fe80::1%eth0",
              "a.b.c.d", "1.2.3.4\u00a0", "9.9.9.9", "192.168.100.200", "1.2.3.4\n"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(_ADDRESSES),
                          st.text(alphabet="0123456789.:abcdef ", max_size=16)),
                min_size=1, max_size=40),
       st.integers(0, 3))
def test_normalize_ips_native_equals_numpy(values: list[str | None], cut: int) -> None:
    # the native row check (canonical dotted quads pass as they are, the rest by value) must
    # give what the numpy twin (every distinct value) gives, on a slice as well
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array(values, pa.string()).slice(min(cut, len(values) - 1))
    native = base.normalize_ips(arr).to_pylist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native == base.normalize_ips(arr).to_pylist()


def test_dotted_quads_marks_canonical_forms_only() -> None:
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array(_ADDRESSES)
    out = np.empty(len(arr), np.uint8)
    bad = base.native_kernels.dotted_quads(len(arr), base.string_offsets(arr),
                                           arr.buffers()[2], out)
    assert [a for a, ok in zip(_ADDRESSES, out.tolist(), strict=True) if ok] == [
        "10.0.0.1", "0.0.0.0", "255.255.255.255", "9.9.9.9", "192.168.100.200"]
    assert bad == len(_ADDRESSES) - 5


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab \t\u00a0\u00e9\x00\x1f,", max_size=5)),
                min_size=1, max_size=30))
def test_trimmed_text_native_equals_numpy(values: list[str | None]) -> None:
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array(values, pa.string())
    native = base.trimmed_text(arr).to_pylist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native == base.trimmed_text(arr).to_pylist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="#Sa \u00e9\n", max_size=4)), min_size=1,
                max_size=30),
       st.integers(0, 5), st.sampled_from(["#", "S#", "\u00e9", "a", " "]))
def test_line_starts_native_equals_numpy(values: list[str | None], cut: int, chars: str) -> None:
    # empty values, nulls (no first byte), a slice's offset, a multi-byte first character
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array(values, pa.string())
    arr = arr.slice(min(cut, len(arr) - 1))
    native = base.line_starts(arr, chars.encode()).tolist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native == base.line_starts(arr, chars.encode()).tolist()
    first = chars.encode()[:1] if len(chars) == 1 else None
    if first is not None:  # and what it means
        assert native == [v is not None and v.encode()[:1] == first for v in arr.to_pylist()]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet='a,"\r\n', max_size=4)), min_size=1,
                max_size=30),
       st.integers(0, 5), st.sampled_from(',"\r'))
def test_has_byte_native_equals_numpy(values: list[str | None], cut: int, char: str) -> None:
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array(values, pa.string())
    arr = arr.slice(min(cut, len(arr) - 1))  # the bytes before the slice are not looked at
    native = base.has_byte(arr, ord(char))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native == base.has_byte(arr, ord(char), step=3)
    assert native == any(char in v for v in arr.to_pylist() if v is not None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="aAb0x1 .", max_size=12)), min_size=1,
                max_size=60),
       st.integers(0, 5), st.integers(0, 3000))
def test_map_distinct_native_equals_numpy(values: list[str | None], cut: int, many: int) -> None:
    # numbered natively (nulls read through their bytes and masked after, a slice's offset,
    # a table that grows past its first 1,024 slots) as Arrow's dictionary encoding numbers them
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array(values + [f"v{i}" for i in range(many)], pa.string())
    arr = arr.slice(min(cut, len(arr) - 1))

    def fn(v: str) -> int | None:
        return None if v.startswith("x") else len(v) * 31 + sum(map(ord, v)) % 7

    native = base.map_distinct(arr, fn, pa.int64())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native.to_pylist() == base.map_distinct(arr, fn, pa.int64()).to_pylist()
    native.validate(full=True)


@pytest.mark.parametrize("flags,proto,native", [
    (["0x0012", "0x0002", "", "0X00fF", "0x1"], ["6", "17", "", "1", "58"], True),
    (["0x0012", "18", "0x0002"], ["6", "6", "6"], False),  # one decimal flag: all text
    (["0x0012", "0x", "0x0002"], ["6", "6", "6"], False),
    (["0x0012", "0xg", "0x0002"], ["6", "6", "6"], False),
    (["0x0012", "0x00000000000000012", "0x2"], ["6", "6", "6"], False),  # 17 hex digits
    (["0x0012", "0x0002"], ["6", "-"], False),
])
def test_native_ints_read_as_the_text_path_reads_them(flags: list[str], proto: list[str],
                                                      native: bool) -> None:
    # tshark's tcp.flags (0x12) and ip.proto, read natively as numbers when every value of the
    # block has the form, else left text: the flag bits and protocol names come out the same
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    names = ["flags", "proto"]
    arr = pa.array([f"{f},{p}\n" for f, p in zip(flags, proto, strict=True)] * 70)
    nos = np.arange(1, len(arr) + 1)

    def read(as_ints: dict[str, str] | None) -> tuple[Any, Any, bool]:
        d = base.parse_delimited("x", arr, nos, names, ",", native_ints=as_ints)
        typed = d.table.column("flags").type == pa.int64()
        return (base.parse_flag_letters(d.table.column("flags").combine_chunks()).tolist(),
                base.proto_names(d.table.column("proto").combine_chunks()).to_pylist(), typed)

    flag_bits, protos, typed = read({"flags": "hex", "proto": "int"})
    assert typed is native
    assert (flag_bits, protos) == read(None)[:2]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-3, 70000)),
                          st.one_of(st.none(), st.integers(-3, 70000)),
                          st.one_of(st.none(), st.integers(-3, 70000))), min_size=1,
                max_size=50),
       st.integers(0, 3), st.lists(st.integers(-60, 60), min_size=3, max_size=3))
def test_first_nonnegative_native_equals_numpy(rows: list[tuple[int | None, ...]], cut: int,
                                               adds: list[int]) -> None:
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    cut = min(cut, len(rows) - 1)
    cols = [(pa.array([r[k] for r in rows], pa.int64()).slice(cut), adds[k]) for k in range(3)]
    n = len(rows) - cut
    native = base.first_nonnegative([cols[0], (None, 5), cols[1], cols[2]], n)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native.tolist() == base.first_nonnegative(
            [cols[0], (None, 5), cols[1], cols[2]], n).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"\n", b"a", b"\n\n", b"x" * 15, b"y" * 16, b"z" * 17]),
                max_size=80), st.integers(0, 15))
def test_line_ends_native_equals_numpy_any_layout(parts: list[bytes], lead: int) -> None:
    # newlines at every place of a 16-byte compare, runs of them, a tail shorter than 16
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    data = b"q" * lead + b"".join(parts)
    native = base.line_offsets(data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native.tolist() == base.line_offsets(data, step=5).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet='ab,"\t \r', max_size=14), min_size=1, max_size=30),
       st.booleans(), st.sampled_from([",", "\t"]))
def test_field_counts_native_equals_python(lines: list[str], quoted: bool,
                                           delimiter: str) -> None:
    # fields as Arrow's reader splits them: quotes only at a field's start, "" inside, text
    # after the closing quote, a line ending inside quotes (-1)
    from ingest import base
    if base.native_kernels is None:
        pytest.skip("not built")
    arr = pa.array([x + "\n" for x in lines])
    native = base.field_counts(arr, delimiter, quoted)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(base, "native_kernels", None)
        assert native.tolist() == base.field_counts(arr, delimiter, quoted).tolist()


@pytest.mark.parametrize("line,fields", [
    ('a,b,c', 3), ('"a,b",c', 2), ('"a""b",c', 2), ('a"b,c', 2), ('"a"b,c', 2),
    ('"a', -1), ('a,"b', -1), (' "a,b"', 2), ('"a,",b', 2), ('', 1), ('"",""', 2)])
def test_field_counts_split_as_arrow_does(line: str, fields: int) -> None:
    # the counts the checked path uses are Arrow's own: a line Arrow reads with the right
    # number of fields is never a reject for its field count, whatever block it falls in
    import pyarrow.csv as pacsv

    from ingest import base
    assert base.field_counts(pa.array([line + "\n"]), ",", True).tolist() == [fields]
    if fields > 0 and line:
        tab = pacsv.read_csv(pa.BufferReader((line + "\n").encode()),
                             read_options=pacsv.ReadOptions(autogenerate_column_names=True),
                             parse_options=pacsv.ParseOptions(newlines_in_values=False))
        assert tab.num_columns == fields
