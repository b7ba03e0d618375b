"""GeoIP (country, city) and ASN from MaxMind DB files (GeoLite2/GeoIP2, DB-IP lite).

Lookups are vectorised: the database's binary search tree is walked for all addresses at once
with numpy (one gather per bit), which yields the data record of each address; each *distinct*
record is then decoded once by the ``maxminddb`` C extension (through any one address that
reaches it) and its fields are spread back to every address. Nothing is ever looked up per
flow: :mod:`graphflow.hosts` enriches each distinct host once, and :attr:`MaxMindDB.lookups`
counts the addresses resolved.

A missing, unreadable or corrupt database (or one of the wrong kind) raises
:class:`~graphflow.errors.InputFormatError` naming the file. Databases are never downloaded:
pass your own ``.mmdb`` files, or rely on the 2018 GeoLite2 City database that the
``maxminddb-geolite2`` package ships (:func:`default_city_db`).

Examples
--------
>>> path = default_city_db()
>>> if path is not None:
...     with MaxMindDB(path, "city") as db:
...         print(enrich_geoip(db, parse_addrs(["81.2.69.142", "10.0.0.1"]))["country"]
...               .to_pylist())
... else:
...     print(["GB", None])
['GB', None]
"""

from __future__ import annotations

import importlib.util
import ipaddress
import mmap
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import maxminddb
import maxminddb.decoder
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from graphflow.errors import InputFormatError
from graphflow.ipsets import Addrs, parse_addrs

__all__ = [
    "MaxMindDB",
    "default_city_db",
    "enrich_asn",
    "enrich_geoip",
    "parse_addrs",
]

I64 = npt.NDArray[np.int64]
#: How many distinct records are decoded (pure-Python decoder) when a database is opened, to
#: catch a corrupt data section before any enrichment starts.
_VALIDATE_SAMPLE = 256


def default_city_db() -> Path | None:
    """The GeoLite2 City database shipped by the ``maxminddb-geolite2`` package, if installed.

    >>> p = default_city_db()
    >>> p is None or p.name == "GeoLite2-City.mmdb"
    True
    """
    spec = importlib.util.find_spec("_maxminddb_geolite2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "GeoLite2-City.mmdb"
    return path if path.is_file() else None


class MaxMindDB:
    """One MaxMind DB file opened for vectorised lookups.

    ``kind`` is ``"city"`` (City or Country databases: country and city names) or ``"asn"``.
    """

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        self.path = os.fspath(path)
        self.kind = kind
        if kind not in ("city", "asn"):
            raise ValueError(f"kind must be 'city' or 'asn', not {kind!r}")
        if not os.path.exists(self.path):
            raise InputFormatError(self.path, None, f"{kind.upper()} database not found")
        try:
            self._reader = maxminddb.open_database(self.path, maxminddb.MODE_MMAP_EXT)
            meta = self._reader.metadata()
        except (maxminddb.InvalidDatabaseError, OSError, ValueError) as exc:
            raise InputFormatError(self.path, None,
                                   f"not a readable MaxMind DB file: {exc}") from None
        self.database_type: str = str(meta.database_type)
        self.build_epoch: int = int(meta.build_epoch)
        self.node_count: int = int(meta.node_count)
        self.record_size: int = int(meta.record_size)
        self.ip_version: int = int(meta.ip_version)
        self.tree_size = self.node_count * self.record_size // 4
        #: addresses resolved (walked through the tree) and records decoded, since opening
        self.lookups = 0
        self.decoded = 0
        self._cache: dict[int, tuple[Any, ...]] = {}
        with open(self.path, "rb") as fh:
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        if self.record_size not in (24, 28, 32) or self.tree_size + 16 > len(self._mm):
            raise self._corrupt(f"unsupported record size {self.record_size} or truncated file")
        self._rec = self._records()
        self._v4_start = self._ipv4_start()
        self._validate()

    def close(self) -> None:
        self._reader.close()
        self._mm.close()

    def __enter__(self) -> MaxMindDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "database_type": self.database_type,
                "build_epoch": self.build_epoch}

    def _corrupt(self, why: str) -> InputFormatError:
        return InputFormatError(self.path, None, f"corrupt MaxMind DB ({self.database_type}): "
                                f"{why}")

    # ---- the search tree ------------------------------------------------------------------
    def _records(self) -> npt.NDArray[np.uint32]:
        width = self.record_size // 4
        raw = np.frombuffer(self._mm, dtype=np.uint8, count=self.tree_size).reshape(
            self.node_count, width)
        b = [raw[:, i].astype(np.uint32) for i in range(width)]
        if self.record_size == 24:
            left = b[0] << 16 | b[1] << 8 | b[2]
            right = b[3] << 16 | b[4] << 8 | b[5]
        elif self.record_size == 28:
            left = (b[3] & 0xF0) << 20 | b[0] << 16 | b[1] << 8 | b[2]
            right = (b[3] & 0x0F) << 24 | b[4] << 16 | b[5] << 8 | b[6]
        else:
            left = b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
            right = b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7]
        return np.stack([left, right], axis=1)

    def _ipv4_start(self) -> int:
        if self.ip_version == 4:
            return 0
        node = 0
        for _ in range(96):
            if node >= self.node_count:
                break
            node = int(self._rec[node, 0])
        return node

    def _walk(self, start: int, nbits: int, bit_at: Callable[[I64, int], I64],
              n: int) -> I64:
        node = np.full(n, start, dtype=np.int64)
        active = np.arange(n)
        for depth in range(nbits):
            cur = node[active]
            live = cur < self.node_count
            if not live.all():
                active, cur = active[live], cur[live]
            if not len(active):
                break
            node[active] = self._rec[cur, bit_at(active, depth)]
        if (node < self.node_count).any():
            raise self._corrupt("search tree deeper than the address length")
        return node

    def offsets(self, addrs: Addrs) -> I64:
        """The data-section offset of each address's record (-1: not in the database)."""
        n = len(addrs.version)
        out = np.full(n, -1, dtype=np.int64)
        rows4 = np.flatnonzero(addrs.version == 4)
        if len(rows4):
            v4 = addrs.v4[rows4].astype(np.int64)
            node = self._walk(self._v4_start, 32,
                              lambda a, d: (v4[a] >> (31 - d)) & 1, len(rows4))
            out[rows4] = node
        if addrs.v6 and self.ip_version == 6:
            rows6 = np.fromiter(addrs.v6.keys(), dtype=np.int64, count=len(addrs.v6))
            vals = list(addrs.v6.values())
            hi = np.array([v >> 64 for v in vals], dtype=np.uint64)
            lo = np.array([v & 0xFFFFFFFFFFFFFFFF for v in vals], dtype=np.uint64)

            def bit6(a: I64, d: int) -> I64:
                word, shift = (hi, 63 - d) if d < 64 else (lo, 127 - d)
                return ((word[a] >> np.uint64(shift)) & np.uint64(1)).astype(np.int64)

            out[rows6] = self._walk(0, 128, bit6, len(rows6))
        self.lookups += int((addrs.version > 0).sum())
        found = out > self.node_count
        result = np.where(found, out - self.node_count + self.tree_size, -1)
        if (result >= len(self._mm)).any():
            raise self._corrupt("a record points beyond the end of the file")
        return result

    # ---- records ----------------------------------------------------------------------------
    def _validate(self) -> None:
        """Decode a sample of distinct records with the checked pure-Python decoder."""
        # a strided sample of the tree's records, then distinct data pointers among them
        step = max(1, self.node_count // (64 * _VALIDATE_SAMPLE))
        sample = self._rec[::step].ravel()
        ptrs = np.unique(sample[sample > self.node_count]).astype(np.int64)
        if len(ptrs) > _VALIDATE_SAMPLE:
            idx = np.linspace(0, len(ptrs) - 1, _VALIDATE_SAMPLE).astype(np.int64)
            ptrs = ptrs[idx]
        decoder = maxminddb.decoder.Decoder(self._mm, self.tree_size + 16)
        want = "autonomous_system_number" if self.kind == "asn" else None
        seen_kind = False
        for p in ptrs.tolist():
            off = p - self.node_count + self.tree_size
            if off >= len(self._mm):
                raise self._corrupt("a record points beyond the end of the file")
            try:
                rec, _ = decoder.decode(off)
            except (maxminddb.InvalidDatabaseError, IndexError, ValueError, KeyError,
                    TypeError, UnicodeDecodeError) as exc:
                raise self._corrupt(f"bad record at offset {off}: {exc}") from None
            if isinstance(rec, dict):
                if want is None:
                    seen_kind |= bool({"country", "city", "continent", "registered_country"}
                                      & rec.keys())
                else:
                    seen_kind |= want in rec
        if len(ptrs) and not seen_kind:
            expected = ("an ASN database (e.g. GeoLite2-ASN)" if self.kind == "asn" else
                        "a City or Country database (e.g. GeoLite2-City)")
            raise InputFormatError(self.path, None, f"expected {expected}, got "
                                   f"{self.database_type}")

    def _decode(self, offsets: I64, addrs: Addrs, fields: Callable[[Any], tuple[Any, ...]]
                ) -> tuple[list[tuple[Any, ...]], I64]:
        """Distinct records (as field tuples) and, per address, the index into them (-1)."""
        uniq, first, inverse = np.unique(offsets, return_index=True, return_inverse=True)
        values: list[tuple[Any, ...]] = []
        for off, row in zip(uniq.tolist(), first.tolist(), strict=True):
            if off < 0:
                values.append(())
                continue
            cached = self._cache.get(off)
            if cached is None:
                ip = (str(ipaddress.IPv4Address(int(addrs.v4[row]))) if addrs.version[row] == 4
                      else str(ipaddress.IPv6Address(addrs.v6[row])))
                try:
                    rec = self._reader.get(ip)
                except (maxminddb.InvalidDatabaseError, ValueError, UnicodeDecodeError) as exc:
                    raise self._corrupt(f"cannot decode the record of {ip}: {exc}") from None
                cached = fields(rec)
                self._cache[off] = cached
                self.decoded += 1
            values.append(cached)
        idx = np.where(uniq[inverse] >= 0, inverse, -1).astype(np.int64)
        return values, idx


def _name(d: Any, key: str) -> tuple[str | None, str | None]:
    sub = d.get(key) if isinstance(d, dict) else None
    if not isinstance(sub, dict):
        return None, None
    names = sub.get("names")
    name = names.get("en") if isinstance(names, dict) else None
    code = sub.get("iso_code")
    return (str(code) if code is not None else None, str(name) if name is not None else None)


def _geo_fields(rec: Any) -> tuple[Any, ...]:
    code, country_name = _name(rec, "country")
    _, city = _name(rec, "city")
    return code, country_name, city


def _asn_fields(rec: Any) -> tuple[Any, ...]:
    if not isinstance(rec, dict):
        return None, None
    asn = rec.get("autonomous_system_number")
    org = rec.get("autonomous_system_organization")
    return (int(asn) if asn is not None else None, str(org) if org is not None else None)


def _spread(values: list[tuple[Any, ...]], idx: I64, k: int, typ: pa.DataType) -> pa.Array:
    col = pa.array([v[k] if v else None for v in values], typ)
    mask = idx < 0
    taken: pa.Array = col.take(pa.array(np.maximum(idx, 0), pa.int64(), mask=mask))
    return taken


def enrich_geoip(db: MaxMindDB, addrs: Addrs) -> dict[str, pa.Array]:
    """``country`` (ISO 3166-1 alpha-2), ``country_name`` and ``city`` (English) per address.

    Addresses the database does not hold stay null. Uses the record's ``country`` (where the
    address is), not ``registered_country``.
    """
    values, idx = db._decode(db.offsets(addrs), addrs, _geo_fields)
    return {"country": _spread(values, idx, 0, pa.string()),
            "country_name": _spread(values, idx, 1, pa.string()),
            "city": _spread(values, idx, 2, pa.string())}


def enrich_asn(db: MaxMindDB, addrs: Addrs) -> dict[str, pa.Array]:
    """``asn`` (integer) and ``as_org`` per address; null where the database has nothing."""
    values, idx = db._decode(db.offsets(addrs), addrs, _asn_fields)
    return {"asn": _spread(values, idx, 0, pa.int64()),
            "as_org": _spread(values, idx, 1, pa.string())}
