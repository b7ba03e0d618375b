"""The hosts table: every address seen in the edges, with its enrichment.

:func:`build_hosts` (run by ``graphflow enrich`` and at the end of every ingest) writes
``hosts/hosts.parquet`` (:data:`graphflow.schema.HOST_SCHEMA`) through the workspace's atomic
commit, without touching the flows or edges. Its sources are remembered in the workspace
(``meta/enrich.json``), so later runs need no options:

* GeoIP/ASN: MaxMind DB files (by path; the ``maxminddb-geolite2`` City database by default);
* the inventory (``meta/inventory.json``, a normalised copy) and the whitelist
  (``meta/whitelist.txt``); without an inventory, own = private and unique-local space;
* names: passive DNS from Zeek dns.log and user name tables (``meta/dns.parquet``), and, when
  asked, live reverse lookups (cached in ``meta/ptr-cache.json``).

A source file is re-read only when it changed (size, mtime, sha256); if it has gone, the copy
kept in the workspace is used and a warning says so. Every distinct address is enriched once.

Examples
--------
>>> import tempfile, pathlib
>>> from graphflow.ingestion import ingest_files
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "conn.log").write_text(
...     "#separator \\\\x09\\n#fields\\tts\\tuid\\tid.orig_h\\tid.orig_p\\tid.resp_h\\t"
...     "id.resp_p\\tproto\\n1700000000.5\\tC1\\t10.0.0.1\\t5555\\t8.8.8.8\\t53\\tudp\\n")
>>> _ = ingest_files([d / "conn.log"], d / "ws")
>>> r = build_hosts(Workspace.open(d / "ws"), EnrichSettings(default_city_db=False))
>>> r.hosts, r.own
(2, 1)
>>> [(h["ip"], h["own"], h["address_class"]) for h in read_hosts(d / "ws").to_pylist()]
[('8.8.8.8', False, 'public'), ('10.0.0.1', True, 'private')]
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from graphflow.addrclass import classify
from graphflow.assets import Inventory, default_inventory
from graphflow.db import connect, fetch_arrow
from graphflow.errors import GraphFlowError, InputFormatError
from graphflow.ipsets import IPSet, Network, load_set, parse_addrs, parse_network
from graphflow.schema import HOST_FIELDS, HOST_SCHEMA
from graphflow.workspace import Workspace

__all__ = [
    "EnrichSettings",
    "HostFilter",
    "HostsReport",
    "build_hosts",
    "enrich",
    "hosts_status",
    "load_settings",
    "read_hosts",
    "registered_domain",
    "select_hosts",
]

HOSTS_FILE = "hosts.parquet"
_HASH_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class EnrichSettings:
    """Enrichment sources, remembered in the workspace (``meta/enrich.json``)."""

    city_db: str | None = None
    asn_db: str | None = None
    dns_logs: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    assets: str | None = None
    whitelist: str | None = None
    #: use the maxminddb-geolite2 City database when no city_db is given
    default_city_db: bool = True
    reverse_dns: bool = False
    reverse_dns_timeout: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["dns_logs"] = list(self.dns_logs)
        d["names"] = list(self.names)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnrichSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        vals = {k: v for k, v in d.items() if k in known}
        for k in ("dns_logs", "names"):
            if k in vals:
                vals[k] = tuple(vals[k])
        return cls(**vals)

    def replace(self, **changes: Any) -> EnrichSettings:
        """A copy with ``changes`` applied; paths are made absolute."""
        def absolute(v: Any) -> Any:
            if v is None or isinstance(v, bool | float | int):
                return v
            if isinstance(v, list | tuple):
                return tuple(str(Path(x).absolute()) for x in v)
            return str(Path(v).absolute())

        fixed = {k: (absolute(v) if k in ("city_db", "asn_db", "dns_logs", "names", "assets",
                                          "whitelist") else v) for k, v in changes.items()}
        return dataclasses.replace(self, **fixed)


@dataclass
class HostsReport:
    """What :func:`build_hosts` did."""

    hosts: int = 0
    own: int = 0
    hva: int = 0
    whitelisted: int = 0
    with_country: int = 0
    with_asn: int = 0
    with_dns: int = 0
    geo_lookups: int = 0
    asn_lookups: int = 0
    reread: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    databases: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    version: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---- remembered settings and source fingerprints ----------------------------------------------
def _meta(ws: Workspace) -> Path:
    return ws.version_dir / "meta"


def _state(ws: Workspace) -> dict[str, Any]:
    p = _meta(ws) / "enrich.json"
    if not p.exists():
        return {}
    doc: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return doc


def load_settings(ws: Workspace) -> EnrichSettings:
    """The enrichment settings remembered in the workspace (defaults if none)."""
    return EnrichSettings.from_dict(_state(ws).get("settings", {}))


def _fingerprint(path: str) -> dict[str, Any] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    fp: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if st.st_size <= _HASH_LIMIT and not path.endswith(".mmdb"):
        with open(path, "rb") as fh:
            fp["sha256"] = hashlib.file_digest(fh, "sha256").hexdigest()
    return fp


def _same(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return False
    if a.get("sha256") and b.get("sha256"):
        return bool(a["sha256"] == b["sha256"])
    return (a.get("size"), a.get("mtime_ns")) == (b.get("size"), b.get("mtime_ns"))


def _sources(s: EnrichSettings) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {
        "inventory": [s.assets] if s.assets else [],
        "whitelist": [s.whitelist] if s.whitelist else [],
        "dns": [*s.dns_logs, *s.names],
        "geoip": [x for x in (_city_path(s), s.asn_db) if x],
    }
    return groups


def _city_path(s: EnrichSettings) -> str | None:
    if s.city_db:
        return s.city_db
    if s.default_city_db:
        from ingest.enrich.geoip import default_city_db

        p = default_city_db()
        return str(p) if p else None
    return None


def _edges_signature(ws: Workspace) -> str:
    names = sorted(f"{f.parent.name}/{f.name}" for f in ws.edge_files())
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def hosts_status(ws: Workspace) -> list[str]:
    """Why the hosts table is out of date (empty list: it is current)."""
    if not (ws.version_dir / "hosts" / HOSTS_FILE).exists():
        return ["no hosts table yet"]
    state = _state(ws)
    reasons = []
    if state.get("edges") != _edges_signature(ws):
        reasons.append("flows were ingested since the hosts table was built")
    s = EnrichSettings.from_dict(state.get("settings", {}))
    recorded = state.get("fingerprints", {})
    for group, paths in _sources(s).items():
        for p in paths:
            fp = _fingerprint(p)
            if fp is not None and not _same(fp, recorded.get(p)):
                reasons.append(f"{group} source changed: {p}")
    return reasons


# ---- building -----------------------------------------------------------------------------------
def registered_domain(names: Sequence[str | None]) -> list[str | None]:
    """The registered domain of each name, from the bundled public-suffix list (no network).

    >>> registered_domain(["a.b.scan-provider.example", "www.bbc.co.uk", "localhost", None])
    ['scan-provider.example', 'bbc.co.uk', None, None]
    """
    psl = _psl()
    cache: dict[str, str | None] = {}
    out: list[str | None] = []
    for n in names:
        if n is None:
            out.append(None)
            continue
        if n not in cache:
            try:
                cache[n] = psl.privatesuffix(n.lower().rstrip("."))
            except (ValueError, UnicodeError):
                cache[n] = None
        out.append(cache[n])
    return out


_PSL: Any = None


def _psl() -> Any:
    global _PSL
    if _PSL is None:
        from publicsuffixlist import PublicSuffixList

        _PSL = PublicSuffixList()  # the list bundled with the package: never downloaded
    return _PSL


def _read_dns_sources(s: EnrichSettings) -> pa.Table:
    from ingest.enrich.dns import PDNS_SCHEMA, read_zeek_dns
    from ingest.enrich.names import read_names_csv

    parts = []
    for p in s.names:
        t = read_names_csv(p)
        n = t.num_rows
        parts.append(pa.table([t["ip"], t["name"], pa.nulls(n, PDNS_SCHEMA.field(2).type),
                               pa.nulls(n, PDNS_SCHEMA.field(3).type), pa.nulls(n, pa.int64()),
                               pa.array(["names"] * n, pa.string())], schema=PDNS_SCHEMA))
    for p in s.dns_logs:
        parts.append(read_zeek_dns(p))
    return pa.concat_tables(parts) if parts else PDNS_SCHEMA.empty_table()


def _sorted_ips(ips: pa.Array) -> pa.Array:
    addrs = parse_addrs(ips)
    v6_rank = np.zeros(len(ips), dtype=np.int64)
    for rank, row in enumerate(sorted(addrs.v6, key=addrs.v6.__getitem__)):
        v6_rank[row] = rank
    order = np.lexsort((v6_rank, addrs.v4, addrs.version))
    result: pa.Array = ips.take(pa.array(order))
    return result


def _dns_lists(dns_path: Path | None, ips: pa.Array, ptr: dict[str, list[str]]
               ) -> pa.Array:
    names: dict[str, list[str]] = {}
    if dns_path is not None and dns_path.exists():
        import duckdb

        con = duckdb.connect()
        try:
            con.register("hostips", pa.table({"ip": ips}))
            rows = fetch_arrow(con, """
                SELECT d.ip, list(d.name ORDER BY d.source = 'names' DESC,
                                  d.last_seen DESC NULLS LAST, d.count DESC NULLS LAST,
                                  d.name) AS names
                FROM read_parquet(?) d JOIN hostips h USING (ip) GROUP BY d.ip""",
                               [str(dns_path)])
        finally:
            con.close()
        for ip, ns in zip(rows["ip"].to_pylist(), rows["names"].to_pylist(), strict=True):
            names[ip] = list(dict.fromkeys(ns))
    for ip, ns in ptr.items():
        if ns:
            names[ip] = list(dict.fromkeys(names.get(ip, []) + ns))
    return pa.array([names.get(ip) for ip in ips.to_pylist()], pa.list_(pa.string()))


def _stage_file(stage: Path, name: str, text: str) -> Path:
    p = stage / name
    p.write_text(text, encoding="utf-8")
    return p


def build_hosts(ws: Workspace | str | os.PathLike[str], settings: EnrichSettings | None = None,
                *, progress: Callable[[str], None] | None = None) -> HostsReport:
    """Rebuild the hosts table from the edges and the enrichment sources; one commit.

    ``settings`` None means the settings remembered in the workspace (defaults if none).
    Takes the workspace lock: call it after an ingest has released it.
    """
    w = ws if isinstance(ws, Workspace) else Workspace.open(ws)
    started = time.monotonic()

    def say(msg: str) -> None:
        if progress is not None:
            progress(msg)

    report = HostsReport()
    with w.lock():
        state = _state(w)
        s = settings if settings is not None else EnrichSettings.from_dict(
            state.get("settings", {}))
        report.settings = s.to_dict()
        recorded: dict[str, Any] = state.get("fingerprints", {})
        prev = EnrichSettings.from_dict(state.get("settings", {})) if state else None
        meta = _meta(w)
        fingerprints: dict[str, Any] = {}
        add: dict[str, list[tuple[Path, str]]] = {"hosts": [], "meta": []}
        drop: dict[str, set[str]] = {"hosts": {HOSTS_FILE}, "meta": set()}
        stage = w.new_staging()
        try:
            def unchanged(group: str, paths: list[str]) -> bool:
                """True when the kept copy can be used (fingerprints recorded above)."""
                same = prev is not None and _sources(prev)[group] == paths
                ok = True
                for p in paths:
                    fp = _fingerprint(p)
                    if fp is None:
                        if same and p in recorded:
                            report.warnings.append(f"{p}: no longer there; using the copy kept "
                                                   "in the workspace")
                            fingerprints[p] = recorded[p]
                            continue
                        raise InputFormatError(p, None, "no such file")
                    fingerprints[p] = fp
                    ok = ok and same and _same(fp, recorded.get(p))
                return ok

            # inventory and whitelist: normalised copies
            inv_keep = meta / "inventory.json"
            if s.assets:
                if not (unchanged("inventory", [s.assets]) and inv_keep.exists()):
                    say(f"reading inventory {s.assets}")
                    from ingest.enrich.inventory import read_inventory

                    doc = read_inventory(s.assets).to_doc()
                    doc["source"] = s.assets
                    f = _stage_file(stage, "inventory.json",
                                    json.dumps(doc, indent=1, ensure_ascii=False))
                    add["meta"].append((f, "inventory.json"))
                    report.reread.append(s.assets)
            elif inv_keep.exists():
                drop["meta"].add("inventory.json")
            wl_keep = meta / "whitelist.txt"
            if s.whitelist:
                if not (unchanged("whitelist", [s.whitelist]) and wl_keep.exists()):
                    from graphflow.ipsets import read_cidr_file

                    _, entries = read_cidr_file(s.whitelist)
                    lines = [f"# whitelist from {s.whitelist}"]
                    for cidr, comment in entries:
                        lines.append(f"{cidr}  # {comment}" if comment else cidr)
                    f = _stage_file(stage, "whitelist.txt", "\n".join(lines) + "\n")
                    add["meta"].append((f, "whitelist.txt"))
                    report.reread.append(s.whitelist)
            elif wl_keep.exists():
                drop["meta"].add("whitelist.txt")
            # names: passive DNS and name tables
            dns_keep = meta / "dns.parquet"
            dns_paths = [*s.dns_logs, *s.names]
            dns_file: Path | None = dns_keep if dns_keep.exists() else None
            if dns_paths:
                if not (unchanged("dns", dns_paths) and dns_keep.exists()):
                    say("reading names")
                    t = _read_dns_sources(s)
                    f = stage / "dns.parquet"
                    pq.write_table(t, f)
                    add["meta"].append((f, "dns.parquet"))
                    dns_file = f
                    report.reread += dns_paths
            elif dns_keep.exists():
                drop["meta"].add("dns.parquet")
                dns_file = None
            for p in _sources(s)["geoip"]:
                fp = _fingerprint(p)
                if fp is not None:
                    fingerprints[p] = fp

            # the inventory as it will be after the commit
            inv = _pending_inventory(w, add, drop)
            say("listing hosts")
            con = connect(w)
            try:
                ips = fetch_arrow(con, "SELECT src_ip AS ip FROM edges UNION "
                                       "SELECT dst_ip FROM edges").column(0)
            finally:
                con.close()
            ips = _sorted_ips(ips.combine_chunks() if isinstance(ips, pa.ChunkedArray) else ips)
            ptr = _reverse(w, s, ips, stage, add) if s.reverse_dns else {}
            say(f"enriching {len(ips):,} hosts")
            table = _enrich_table(ips, inv, s, dns_file, ptr, report)
            out = stage / HOSTS_FILE
            pq.write_table(table, out, compression="zstd")
            add["hosts"].append((out, HOSTS_FILE))
            new_state = {"settings": s.to_dict(), "fingerprints": fingerprints,
                         "edges": _edges_signature(w),
                         "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         "databases": report.databases, "hosts": table.num_rows}
            f = _stage_file(stage, "enrich.json", json.dumps(new_state, indent=1))
            add["meta"].append((f, "enrich.json"))
            drop["meta"] |= {rel for _, rel in add["meta"]}
            report.version = w.commit(add=add, drop=drop, ledger=w.ledger())
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


def _pending_inventory(w: Workspace, add: dict[str, list[tuple[Path, str]]],
                       drop: dict[str, set[str]]) -> Inventory:
    """The inventory the new version will hold (staged copies win over kept ones)."""
    from graphflow.assets import inventory_from_doc

    staged = {rel: p for p, rel in add["meta"]}
    meta = _meta(w)

    def pick(rel: str) -> Path | None:
        if rel in staged:
            return staged[rel]
        if rel in drop["meta"]:
            return None
        return meta / rel if (meta / rel).exists() else None

    inv_p, wl_p = pick("inventory.json"), pick("whitelist.txt")
    if inv_p is not None:
        doc = json.loads(inv_p.read_text(encoding="utf-8"))
        inv = inventory_from_doc(doc, source=str(doc.get("source") or inv_p))
    else:
        inv = default_inventory()
    if wl_p is not None:
        from graphflow.ipsets import read_cidr_file

        _, entries = read_cidr_file(wl_p)
        known = {n for n, _ in inv.whitelist}
        inv.whitelist = inv.whitelist + tuple(
            (parse_network(c), cm) for c, cm in entries if parse_network(c) not in known)
        inv._cache.clear()
    return inv


def _reverse(w: Workspace, s: EnrichSettings, ips: pa.Array, stage: Path,
             add: dict[str, list[tuple[Path, str]]]) -> dict[str, list[str]]:
    from ingest.enrich.ptr import reverse_lookup

    keep = _meta(w) / "ptr-cache.json"
    cache: dict[str, dict[str, object]] = json.loads(keep.read_text()) if keep.exists() else {}
    out = reverse_lookup(ips.to_pylist(), cache, timeout=s.reverse_dns_timeout)
    f = _stage_file(stage, "ptr-cache.json", json.dumps(cache))
    add["meta"].append((f, "ptr-cache.json"))
    return out


def _enrich_table(ips: pa.Array, inv: Inventory, s: EnrichSettings, dns_file: Path | None,
                  ptr: dict[str, list[str]], report: HostsReport) -> pa.Table:
    from ingest.enrich.geoip import MaxMindDB, enrich_asn, enrich_geoip

    n = len(ips)
    addrs = parse_addrs(ips)
    cols: dict[str, pa.Array] = {"ip": ips,
                                 "ip_version": pa.array(addrs.version, pa.int8()),
                                 "address_class": classify(addrs)}
    cols.update(inv.classify(addrs))
    city = _city_path(s)
    if city:
        with MaxMindDB(city, "city") as db:
            cols.update(enrich_geoip(db, addrs))
            report.geo_lookups = db.lookups
            report.databases["city"] = db.describe()
    else:
        cols.update({k: pa.nulls(n, pa.string()) for k in ("country", "country_name", "city")})
    if s.asn_db:
        with MaxMindDB(s.asn_db, "asn") as db:
            cols.update(enrich_asn(db, addrs))
            report.asn_lookups = db.lookups
            report.databases["asn"] = db.describe()
    else:
        cols.update({"asn": pa.nulls(n, pa.int64()), "as_org": pa.nulls(n, pa.string())})
    dns = _dns_lists(dns_file, ips, ptr)
    cols["dns"] = dns
    first = pc.list_element(pc.fill_null(dns, pa.scalar([""], pa.list_(pa.string()))), 0)
    first = pc.if_else(pc.equal(first, ""), None, first)
    cols["domain"] = pa.array(registered_domain(first.to_pylist()), pa.string())
    table = pa.table({f.name: cols[f.name] for f in HOST_FIELDS}, schema=HOST_SCHEMA)
    report.hosts = n
    report.own = int(pc.sum(table["own"]).as_py() or 0)
    report.hva = int(pc.sum(table["hva"]).as_py() or 0)
    report.whitelisted = int(pc.sum(table["whitelisted"]).as_py() or 0)
    report.with_country = n - table["country"].null_count
    report.with_asn = n - table["asn"].null_count
    report.with_dns = n - table["dns"].null_count
    return table


def enrich(ws: Workspace | str | os.PathLike[str], *, reset: bool = False,
           progress: Callable[[str], None] | None = None, **changes: Any) -> HostsReport:
    """``graphflow enrich``: merge ``changes`` into the remembered settings and rebuild."""
    w = ws if isinstance(ws, Workspace) else Workspace.open(ws, create=False)
    base = EnrichSettings() if reset else load_settings(w)
    return build_hosts(w, base.replace(**changes), progress=progress)


# ---- reading ------------------------------------------------------------------------------------
def read_hosts(ws: Workspace | str | os.PathLike[str]) -> pa.Table:
    """The hosts table as it is (an empty table if none was built yet)."""
    w = ws if isinstance(ws, Workspace) else Workspace.open(ws, create=False)
    p = w.version_dir / "hosts" / HOSTS_FILE
    if not p.exists():
        return HOST_SCHEMA.empty_table()
    return pq.read_table(p, schema=HOST_SCHEMA)


@dataclass(frozen=True)
class HostFilter:
    """Which hosts to show. Every given criterion must hold."""

    own: bool | None = None
    hva: bool | None = None
    whitelisted: bool | None = None
    roles: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    asns: tuple[int, ...] = ()
    classes: tuple[str, ...] = ()
    cidrs: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    limit: int | None = None


def select_hosts(ws: Workspace | str | os.PathLike[str], f: HostFilter | None = None
                 ) -> pa.Table:
    """Hosts matching ``f`` in address order. ``dns`` patterns are shell globs matched
    against every name (``*.example.com``); ``sets`` are named IP sets; ``cidrs`` IPs/CIDRs.

    >>> select_hosts.__name__
    'select_hosts'
    """
    w = ws if isinstance(ws, Workspace) else Workspace.open(ws, create=False)
    f = f or HostFilter()
    t = read_hosts(w)
    mask = np.ones(t.num_rows, dtype=bool)

    def col(name: str) -> np.ndarray:
        return np.asarray(t[name].to_numpy(zero_copy_only=False))

    for name, want in (("own", f.own), ("hva", f.hva), ("whitelisted", f.whitelisted)):
        if want is not None:
            mask &= col(name) == want
    if f.roles:
        mask &= np.asarray(pc.fill_null(pc.is_in(t["role"], pa.array(f.roles)), False))
    if f.countries:
        mask &= np.asarray(pc.fill_null(pc.is_in(t["country"], pa.array(
            [c.upper() for c in f.countries])), False))
    if f.asns:
        mask &= np.asarray(pc.fill_null(pc.is_in(t["asn"], pa.array(f.asns, pa.int64())),
                                        False))
    if f.classes:
        mask &= np.asarray(pc.fill_null(pc.is_in(t["address_class"], pa.array(f.classes)),
                                        False))
    if f.cidrs or f.sets:
        nets: list[Network] = []
        for c in f.cidrs:
            try:
                nets.append(parse_network(c))
            except ValueError as exc:
                raise GraphFlowError(str(exc)) from None
        sel = IPSet(nets)
        for name in f.sets:
            sel = sel | load_set(w, name)
        mask &= sel.contains(t["ip"])
    if f.dns:
        pats = [p.lower() for p in f.dns]
        names = t["dns"].to_pylist()
        mask &= np.array([any(fnmatch.fnmatchcase(n.lower(), p) for n in ns or ()
                              for p in pats) for ns in names], dtype=bool)
    out = t.filter(pa.array(mask))
    return out.slice(0, f.limit) if f.limit else out
