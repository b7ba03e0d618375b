"""IP sets as CIDR algebra over IPv4 and IPv6, and named sets stored in the workspace.

An :class:`IPSet` holds, per address family, sorted disjoint ranges of integers; union,
intersection and difference are merges of those ranges, so ``0.0.0.0/0 - 10.0.0.1`` costs
a handful of operations, never four billion. :meth:`IPSet.cidrs` turns the ranges back into the
minimal list of CIDRs (what :func:`ipaddress.collapse_addresses` would give).

Named sets (as SiLK analysts know them) are looked up by :func:`load_set`:

* ``own``, ``hva``, ``whitelist``, ``known-scanners``: from the inventory (``graphflow enrich
  --assets``); ``own`` is private and ULA space when there is no inventory;
* ``role:NAME``: the assets and ranges of a role; the inventory's own ``sets:``;
* sets saved in the workspace (``graphflow sets define|combine``, or an analysis through
  :func:`save_set`), kept as CIDR lists in ``meta/sets/NAME.txt``.

Examples
--------
>>> a = IPSet(["10.0.0.0/8", "2001:db8::/32"])
>>> b = IPSet(["10.1.0.0/16"])
>>> [str(n) for n in (a - b).cidrs(4)][:3]
['10.0.0.0/16', '10.2.0.0/15', '10.4.0.0/14']
>>> (a & b).cidrs()
[IPv4Network('10.1.0.0/16')]
>>> "10.1.2.3" in a, "192.0.2.1" in a, "2001:db8::1" in a
(True, False, True)
>>> a.contains(["10.9.9.9", "11.0.0.1", "2001:db8:1::"]).tolist()
[True, False, True]
"""

from __future__ import annotations

import bisect
import ipaddress
import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.errors import GraphFlowError, InputFormatError

if TYPE_CHECKING:
    from graphflow.workspace import Workspace

__all__ = [
    "Addrs",
    "IPSet",
    "Network",
    "PrefixMap",
    "SetInfo",
    "UnknownSet",
    "combine_sets",
    "delete_set",
    "list_sets",
    "load_set",
    "parse_addrs",
    "parse_network",
    "read_cidr_file",
    "save_set",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Interval = tuple[int, int]
_BITS = {4: 32, 6: 128}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
_V4_RE = r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"  # noqa: E501 - one regex


class UnknownSet(GraphFlowError):
    """No named set by that name."""


def parse_network(text: str) -> Network:
    """An IP or CIDR as a network; host bits set is an error (it is usually a typo).

    >>> parse_network("10.0.0.1"), parse_network("2001:DB8::/32")
    (IPv4Network('10.0.0.1/32'), IPv6Network('2001:db8::/32'))
    >>> parse_network("10.0.0.1/8")
    Traceback (most recent call last):
    ...
    ValueError: '10.0.0.1/8': host bits set (the network is 10.0.0.0/8)
    """
    t = text.strip()
    try:
        return ipaddress.ip_network(t)
    except ValueError:
        try:
            loose = ipaddress.ip_network(t, strict=False)
        except ValueError:
            raise ValueError(f"{text!r}: not an IP address or CIDR") from None
        raise ValueError(f"{text!r}: host bits set (the network is {loose})") from None


def _net_interval(n: Network) -> Interval:
    start = int(n.network_address)
    return start, start + n.num_addresses - 1


def _merge(intervals: list[Interval]) -> list[Interval]:
    if not intervals:
        return []
    intervals.sort()
    out = [intervals[0]]
    for s, e in intervals[1:]:
        ls, le = out[-1]
        if s <= le + 1:
            if e > le:
                out[-1] = (ls, e)
        else:
            out.append((s, e))
    return out


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if s <= e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    j = 0
    for s, e in a:
        cur = s
        while j < len(b) and b[j][1] < cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] <= e:
            if b[k][0] > cur:
                out.append((cur, b[k][0] - 1))
            cur = max(cur, b[k][1] + 1)
            if cur > e:
                break
            k += 1
        if cur <= e:
            out.append((cur, e))
    return out


def _range_cidrs(start: int, end: int, bits: int) -> Iterator[tuple[int, int]]:
    """Minimal (network int, prefix length) blocks covering ``start..end``."""
    while start <= end:
        size_bits = (start & -start).bit_length() - 1 if start else bits
        span = (end - start + 1).bit_length() - 1
        k = min(size_bits, span)
        yield start, bits - k
        start += 1 << k


class IPSet:
    """An immutable set of IPv4 and IPv6 addresses, held as merged ranges (never expanded)."""

    __slots__ = ("_np4", "_v4", "_v6")

    def __init__(self, items: Iterable[str | Network | ipaddress.IPv4Address |
                                       ipaddress.IPv6Address] = ()) -> None:
        v4: list[Interval] = []
        v6: list[Interval] = []
        for item in items:
            if isinstance(item, str):
                net: Network = parse_network(item)
            elif isinstance(item, ipaddress.IPv4Address | ipaddress.IPv6Address):
                net = ipaddress.ip_network(item)
            else:
                net = item
            (v4 if net.version == 4 else v6).append(_net_interval(net))
        self._v4 = _merge(v4)
        self._v6 = _merge(v6)
        self._np4: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None

    @classmethod
    def _of(cls, v4: list[Interval], v6: list[Interval]) -> IPSet:
        s = cls.__new__(cls)
        s._v4, s._v6, s._np4 = v4, v6, None
        return s

    # ---- algebra ------------------------------------------------------------------------
    def union(self, other: IPSet) -> IPSet:
        return IPSet._of(_merge(self._v4 + other._v4), _merge(self._v6 + other._v6))

    def intersection(self, other: IPSet) -> IPSet:
        return IPSet._of(_intersect(self._v4, other._v4), _intersect(self._v6, other._v6))

    def difference(self, other: IPSet) -> IPSet:
        return IPSet._of(_subtract(self._v4, other._v4), _subtract(self._v6, other._v6))

    __or__ = union
    __and__ = intersection
    __sub__ = difference

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IPSet) and (self._v4, self._v6) == (other._v4, other._v6)

    def __hash__(self) -> int:
        return hash((tuple(self._v4), tuple(self._v6)))

    def __bool__(self) -> bool:
        return bool(self._v4 or self._v6)

    def __repr__(self) -> str:
        cidrs = [str(c) for c in self.cidrs()]
        more = f", ... {len(cidrs) - 4} more" if len(cidrs) > 4 else ""
        return f"IPSet([{', '.join(repr(c) for c in cidrs[:4])}{more}])"

    # ---- membership ---------------------------------------------------------------------
    def __contains__(self, ip: object) -> bool:
        try:
            a = ipaddress.ip_address(ip) if isinstance(ip, str | int) else ip
        except ValueError:
            return False
        if not isinstance(a, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        ivs = self._v4 if a.version == 4 else self._v6
        x = int(a)
        i = bisect.bisect_right(ivs, (x, 1 << 129)) - 1
        return i >= 0 and ivs[i][0] <= x <= ivs[i][1]

    def contains(self, ips: Addrs | pa.Array | pa.ChunkedArray | Sequence[str]
                 ) -> npt.NDArray[np.bool_]:
        """Vectorised membership of many addresses (text, or already parsed :class:`Addrs`)."""
        addrs = ips if isinstance(ips, Addrs) else parse_addrs(ips)
        out = np.zeros(len(addrs.version), dtype=bool)
        is4 = addrs.version == 4
        if self._v4 and is4.any():
            if self._np4 is None:
                self._np4 = (np.array([s for s, _ in self._v4], dtype=np.int64),
                             np.array([e for _, e in self._v4], dtype=np.int64))
            starts, ends = self._np4
            x = addrs.v4[is4].astype(np.int64)
            idx = np.searchsorted(starts, x, side="right") - 1
            ok = idx >= 0
            ok[ok] = x[ok] <= ends[idx[ok]]
            out[is4] = ok
        if self._v6:
            for row, value in addrs.v6.items():
                i = bisect.bisect_right(self._v6, (value, 1 << 129)) - 1
                out[row] = i >= 0 and self._v6[i][0] <= value <= self._v6[i][1]
        return out

    # ---- views --------------------------------------------------------------------------
    def cidrs(self, version: int | None = None) -> list[Network]:
        """The minimal CIDR list, IPv4 first, in address order."""
        out: list[Network] = []
        if version in (None, 4):
            out += [ipaddress.IPv4Network((n, p)) for s, e in self._v4
                    for n, p in _range_cidrs(s, e, 32)]
        if version in (None, 6):
            out += [ipaddress.IPv6Network((n, p)) for s, e in self._v6
                    for n, p in _range_cidrs(s, e, 128)]
        return out

    def num_addresses(self, version: int) -> int:
        return sum(e - s + 1 for s, e in (self._v4 if version == 4 else self._v6))

    def summary(self) -> dict[str, int]:
        """CIDR and address counts per family."""
        return {"cidrs": len(self.cidrs()), "ipv4_addresses": self.num_addresses(4),
                "ipv6_addresses": self.num_addresses(6)}

    def to_text(self, header: str = "") -> str:
        lines = [f"# {h}" for h in header.splitlines()] if header else []
        return "\n".join(lines + [str(c) for c in self.cidrs()]) + "\n"


# ---- parsing many addresses at once ----------------------------------------------------------
@dataclass
class Addrs:
    """Parsed addresses: ``version`` (4, 6; 0 if invalid), IPv4 values, IPv6 values by row."""

    version: npt.NDArray[np.int8]
    v4: npt.NDArray[np.uint32]
    v6: dict[int, int]

    def __len__(self) -> int:
        return len(self.version)


def parse_addrs(values: pa.Array | pa.ChunkedArray | Sequence[str | None]) -> Addrs:
    """Parse address text vectorised: canonical IPv4 by Arrow kernels, the rest one by one.

    >>> a = parse_addrs(["10.0.0.1", "2001:db8::1", "junk", None])
    >>> a.version.tolist(), int(a.v4[0]), a.v6
    ([4, 6, 0, 0], 167772161, {1: 42540766411282592856903984951653826561})
    """
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(
        list(values), pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.string())
    n = len(arr)
    version = np.zeros(n, dtype=np.int8)
    v4 = np.zeros(n, dtype=np.uint32)
    v6: dict[int, int] = {}
    if n == 0:
        return Addrs(version, v4, v6)
    canon = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _V4_RE), False)
                       .to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(canon)
    if len(rows):
        parts = pc.list_flatten(pc.split_pattern(pc.take(arr, pa.array(rows)), "."))
        octets = np.asarray(parts.cast(pa.uint32()).to_numpy(), dtype=np.uint32).reshape(-1, 4)
        v4[rows] = (octets[:, 0] << 24) | (octets[:, 1] << 16) | (octets[:, 2] << 8) | octets[:, 3]
        version[rows] = 4
    rest = np.flatnonzero(~canon)
    if len(rest):
        texts = pc.take(arr, pa.array(rest)).to_pylist()
        rows4: list[int] = []
        vals4: list[int] = []
        pton, af6 = socket.inet_pton, socket.AF_INET6
        for row, text in zip(rest.tolist(), texts, strict=True):
            if text is None:
                continue
            if ":" in text:
                try:  # inet_pton: ten times faster than ipaddress for IPv6 text
                    v6[row] = int.from_bytes(pton(af6, text.strip()), "big")
                    continue
                except (OSError, ValueError):
                    pass
            try:
                a = ipaddress.ip_address(text.strip())
            except ValueError:
                continue
            if a.version == 4:
                rows4.append(row)
                vals4.append(int(a))
            else:
                v6[row] = int(a)
        version[rows4] = 4
        v4[rows4] = vals4
        if v6:
            version[np.fromiter(v6.keys(), dtype=np.int64, count=len(v6))] = 6
    return Addrs(version, v4, v6)


T = TypeVar("T")


class PrefixMap(Generic[T]):
    """Longest-prefix match of many addresses against CIDRs carrying values.

    >>> m = PrefixMap([(parse_network("10.0.0.0/8"), "a"), (parse_network("10.1.0.0/16"), "b")])
    >>> m.lookup(parse_addrs(["10.1.2.3", "10.2.0.1", "11.0.0.1"])).tolist()
    [1, 0, -1]
    >>> m.get("10.1.0.9")
    'b'
    """

    def __init__(self, items: Iterable[tuple[Network, T]]) -> None:
        self.values: list[T] = []
        by_len: dict[tuple[int, int], dict[int, int]] = {}
        for net, value in items:
            key = (net.version, net.prefixlen)
            shift = _BITS[net.version] - net.prefixlen
            # first one listed wins for an identical network
            if int(net.network_address) >> shift in by_len.setdefault(key, {}):
                continue
            by_len[key][int(net.network_address) >> shift] = len(self.values)
            self.values.append(value)
        self._v4: list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]] = []
        self._v6: list[tuple[int, dict[int, int]]] = []
        for (ver, plen), table in sorted(by_len.items(), key=lambda kv: -kv[0][1]):
            if ver == 4:
                keys = np.array(sorted(table), dtype=np.int64)
                self._v4.append((plen, keys, np.array([table[k] for k in keys.tolist()],
                                                      dtype=np.int64)))
            else:
                self._v6.append((plen, table))

    def lookup(self, addrs: Addrs) -> npt.NDArray[np.int64]:
        """Index into :attr:`values` of the most specific match per address, -1 if none."""
        out = np.full(len(addrs.version), -1, dtype=np.int64)
        rows4 = np.flatnonzero(addrs.version == 4)
        x4 = addrs.v4[rows4].astype(np.int64)
        todo = np.ones(len(rows4), dtype=bool)
        for plen, keys, vals in self._v4:
            if not todo.any():
                break
            k = x4 >> (32 - plen)
            pos = np.searchsorted(keys, k)
            pos[pos >= len(keys)] = 0
            hit = todo & (keys[pos] == k) if len(keys) else np.zeros_like(todo)
            out[rows4[hit]] = vals[pos[hit]]
            todo &= ~hit
        if addrs.v6 and self._v6:
            rows6 = np.fromiter(addrs.v6.keys(), dtype=np.int64, count=len(addrs.v6))
            vals6 = list(addrs.v6.values())
            hi = np.array([v >> 64 for v in vals6], dtype=np.uint64)
            todo6 = np.ones(len(rows6), dtype=bool)
            for plen, table in self._v6:
                if not todo6.any():
                    break
                if plen <= 64:
                    # vectorised on the upper 64 bits
                    keys6 = np.array(sorted(table), dtype=np.uint64)
                    k6 = hi >> np.uint64(64 - plen) if plen else np.zeros_like(hi)
                    pos6 = np.searchsorted(keys6, k6)
                    pos6[pos6 >= len(keys6)] = 0
                    hit = todo6 & (keys6[pos6] == k6)
                    out[rows6[hit]] = [table[int(x)] for x in keys6[pos6[hit]].tolist()]
                    todo6 &= ~hit
                else:
                    # few such blocks: only rows whose upper half matches one are checked
                    his = np.array(sorted({key >> (plen - 64) for key in table}),
                                   dtype=np.uint64)
                    for i in np.flatnonzero(todo6 & np.isin(hi, his)).tolist():
                        idx = table.get(vals6[i] >> (128 - plen))
                        if idx is not None:
                            out[rows6[i]] = idx
                            todo6[i] = False
        return out

    def get(self, ip: str) -> T | None:
        i = int(self.lookup(parse_addrs([ip]))[0])
        return self.values[i] if i >= 0 else None


# ---- CIDR list files --------------------------------------------------------------------------
def read_cidr_file(path: str | os.PathLike[str]) -> tuple[IPSet, list[tuple[str, str]]]:
    """Read a plain list: one IP or CIDR per line, ``#`` comments (whole-line or trailing).

    Returns the set and its entries with the comment that precedes or follows each.
    Errors name the file and line.
    """
    p = os.fspath(path)
    try:
        text = Path(p).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(p, None, f"cannot read: {exc}") from None
    entries: list[tuple[str, str]] = []
    last_comment = ""
    for no, line in enumerate(text.splitlines(), 1):
        body, _, comment = line.partition("#")
        body = body.strip()
        if not body:
            last_comment = comment.strip() if comment.strip() else last_comment
            if not line.strip():
                last_comment = ""
            continue
        for token in body.replace(",", " ").split():
            try:
                net = parse_network(token)
            except ValueError as exc:
                raise InputFormatError(p, no, str(exc)) from None
            entries.append((str(net), comment.strip() or last_comment))
        last_comment = ""
    return IPSet(e for e, _ in entries), entries


# ---- named sets in the workspace ----------------------------------------------------------------
@dataclass(frozen=True)
class SetInfo:
    """A named set: where it comes from and how big it is."""

    name: str
    source: str
    description: str
    cidrs: int
    ipv4_addresses: int
    ipv6_addresses: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


BUILTIN_SETS: dict[str, str] = {
    "own": "own networks (inventory; private and ULA space when there is none)",
    "hva": "high-value assets (top criticality, or listed under hvas)",
    "whitelist": "sanctioned scanners and infrastructure",
    "known-scanners": "known scanners (inventory known_scanners)",
}


def _sets_dir(ws: Workspace) -> Path:
    return ws.version_dir / "meta" / "sets"


def _stored(ws: Workspace) -> dict[str, Path]:
    d = _sets_dir(ws)
    return {p.stem: p for p in sorted(d.glob("*.txt"))} if d.exists() else {}


def _dynamic_sets(ws: Workspace) -> dict[str, tuple[str, str, Callable[[], IPSet]]]:
    from graphflow.assets import default_inventory, load_inventory

    inv = load_inventory(ws) or default_inventory()
    out: dict[str, tuple[str, str, Callable[[], IPSet]]] = {}
    named = inv.named_sets()
    for name, desc in BUILTIN_SETS.items():
        out[name] = ("builtin", desc, lambda n=name: named[n])  # type: ignore[misc]  # bind
    for name in sorted(named):
        if name not in out:
            src = "inventory role" if name.startswith("role:") else "inventory"
            out[name] = (src, "", lambda n=name: named[n])  # type: ignore[misc]  # bind
    return out


def load_set(ws: Workspace, name: str) -> IPSet:
    """The named set ``name`` (built-in, inventory, or saved in the workspace)."""
    stored = _stored(ws)
    if name in stored:
        ipset, _ = read_cidr_file(stored[name])
        return ipset
    dyn = _dynamic_sets(ws)
    if name in dyn:
        return dyn[name][2]()
    raise UnknownSet(f"no IP set named {name!r} (known: {', '.join(sorted({*stored, *dyn}))})")


def list_sets(ws: Workspace) -> list[SetInfo]:
    """Every named set with its source and size."""
    out = []
    stored = _stored(ws)
    for name, (src, desc, fn) in _dynamic_sets(ws).items():
        if name in stored:
            continue
        out.append(SetInfo(name, src, desc, **fn().summary()))
    for name, path in stored.items():
        s, _ = read_cidr_file(path)
        meta = _meta_of(path)
        out.append(SetInfo(name, meta.get("source", "defined"), meta.get("description", ""),
                           **s.summary()))
    return out


def _meta_of(path: Path) -> dict[str, str]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    if first.startswith("# graphflow-set "):
        try:
            doc: dict[str, str] = json.loads(first[len("# graphflow-set "):])
            return doc
        except ValueError:
            return {}
    return {}


def save_set(ws: Workspace, name: str, ipset: IPSet, *, description: str = "",
             source: str = "defined") -> int:
    """Store ``ipset`` as the named set ``name`` (replacing it); returns the new version.

    ``source`` says where it came from, e.g. ``"analysis:fanout_scanners"``. Built-in names are
    refused.
    """
    if not _NAME_RE.match(name) or name.startswith("role:"):
        raise GraphFlowError(f"{name!r}: set names are letters, digits and _ . : - "
                             "(at most 100, not starting with 'role:')")
    if name in BUILTIN_SETS:
        raise GraphFlowError(f"{name!r} is a built-in set (from the inventory); pick another "
                             "name")
    header = json.dumps({"source": source, "description": description}, ensure_ascii=False)
    with ws.lock():
        stage = ws.new_staging()
        try:
            f = stage / f"{name}.txt"
            f.write_text(f"# graphflow-set {header}\n" + ipset.to_text(), encoding="utf-8")
            rel = f"sets/{name}.txt"
            return ws.commit(add={"meta": [(f, rel)]}, drop={"meta": {rel}}, ledger=ws.ledger())
        finally:
            import shutil

            shutil.rmtree(stage, ignore_errors=True)


def delete_set(ws: Workspace, name: str) -> int:
    """Remove a saved set; returns the new version."""
    if name not in _stored(ws):
        raise UnknownSet(f"no saved IP set named {name!r}")
    with ws.lock():
        return ws.commit(add={}, drop={"meta": {f"sets/{name}.txt"}}, ledger=ws.ledger())


_OPS: dict[str, Callable[[IPSet, IPSet], IPSet]] = {
    "+": IPSet.union, "|": IPSet.union, "union": IPSet.union, "or": IPSet.union,
    "&": IPSet.intersection, "and": IPSet.intersection, "intersect": IPSet.intersection,
    "-": IPSet.difference, "minus": IPSet.difference, "not": IPSet.difference,
}


def _operand(ws: Workspace, token: str) -> IPSet:
    try:
        return IPSet([parse_network(token)])
    except ValueError:
        pass
    if token.startswith("@"):
        return read_cidr_file(token[1:])[0]
    return load_set(ws, token)


def combine_sets(ws: Workspace, expr: Sequence[str]) -> IPSet:
    """Evaluate ``A OP B [OP C ...]`` left to right; operands are set names, CIDRs or
    ``@file``; OP is ``+``/``union``, ``&``/``and``, ``-``/``minus``.
    """
    if not expr or len(expr) % 2 == 0:
        raise GraphFlowError("expected SET [OP SET ...] with OP one of +, &, - "
                             "(or union, and, minus)")
    result = _operand(ws, expr[0])
    for i in range(1, len(expr), 2):
        op = _OPS.get(expr[i].lower())
        if op is None:
            raise GraphFlowError(f"{expr[i]!r}: unknown operator (use +, &, - or union, and, "
                                 "minus)")
        result = op(result, _operand(ws, expr[i + 1]))
    return result
