"""What the user has selected: the view state of the graph page, parsed from the URL.

The same state drives the graph, the exports, and the browser's history: every control of the
graph page is a query parameter, so a view can be bookmarked, shared, and restored by back and
forward. This module parses and validates it (:meth:`Selection.from_args`) and turns it into
SQL conditions over the ``edges`` and ``flows`` views, always with values as parameters.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

import duckdb

from web.errors import ApiError
from web.params import Args, parse_cidr_or_ip
from web.source import Snapshot

__all__ = ["SET_KINDS", "Limits", "Selection", "edge_relation", "either_end", "resolve_ips",
           "resolve_sets", "window_clauses"]

SCOPES = ("all", "own", "external", "cross")
SET_OPS = ("union", "intersection", "difference")
COLLAPSE = ("auto", "none", "subnet", "asn", "domain")
#: Named sets: a word, or ``kind:value``; ``cidr:...`` (or a bare IP/CIDR) works without the
#: hosts table, the others need it.
SET_KINDS = ("own", "external", "hva", "whitelist", "role:", "country:", "asn:", "domain:",
             "cidr:")


@dataclass(frozen=True)
class Limits:
    """Bounds that keep the browser and the server responsive (see docs/web.md)."""

    default_edges: int = 1500
    max_edges: int = 20_000
    max_hops: int = 3
    finding_flows: int = 200_000
    page_default: int = 100
    page_max: int = 1000


@dataclass(frozen=True)
class Selection:
    start: dt.date | None = None
    end: dt.date | None = None
    hosts: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    protos: tuple[str, ...] = ()
    scope: str = "all"
    sets: tuple[str, ...] = ()
    setop: str = "union"
    min_weight: int = 0
    per: str = "port"
    fanout: int = 0
    omit: int = 0
    expand: tuple[str, ...] = ()
    hops: int = 1
    collapse: str = "auto"
    prefix: int = 24
    open: tuple[str, ...] = ()
    close: tuple[str, ...] = ()
    max_edges: int = 1500
    finding: str | None = None

    @classmethod
    def from_args(cls, args: Args, limits: Limits = Limits()) -> Selection:
        start, end = args.date("from"), args.date("to")
        if start and end and end < start:
            raise ApiError(f"to {end} is before from {start}", param="to")
        sets = tuple(args.strings("set", max_len=200))
        for s in sets:
            _check_set(s)
        return cls(
            start=start, end=end,
            hosts=tuple(args.hosts("host")),
            ports=tuple(args.ports("port")),
            protos=tuple(args.protos("proto")),
            scope=args.choice("scope", SCOPES, "all"),
            sets=sets,
            setop=args.choice("setop", SET_OPS, "union"),
            min_weight=args.integer("min_weight", 0, lo=0, hi=10**12),
            per=args.choice("per", ("port", "pair"), "port"),
            fanout=args.integer("fanout", 0, lo=0, hi=100_000),
            omit=args.integer("omit", 0, lo=0, hi=100_000),
            expand=tuple(args.ips("expand")),
            hops=args.integer("hops", 1, lo=1, hi=limits.max_hops),
            collapse=args.choice("collapse", COLLAPSE, "auto"),
            prefix=int(args.choice("prefix", ("24", "16", "8"), "24")),
            open=tuple(args.strings("open", max_len=200)),
            close=tuple(args.strings("close", max_len=200)),
            max_edges=args.integer("max_edges", limits.default_edges, lo=1, hi=limits.max_edges),
            finding=args.text("finding", max_len=200),
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["from"] = self.start.isoformat() if self.start else None
        d["to"] = self.end.isoformat() if self.end else None
        del d["start"], d["end"]
        return d

    def cli(self) -> str:
        """The equivalent ``graphflow graph`` command (for "show the query behind")."""
        parts = ["graphflow", "graph"]
        if self.start:
            parts += ["--from", self.start.isoformat()]
        if self.end:
            parts += ["--to", (self.end + dt.timedelta(days=1)).isoformat()]
        for h in self.hosts:
            parts += ["--host", h]
        for port in self.ports:
            parts += ["--port", str(port)]
        for proto in self.protos:
            parts += ["--proto", proto]
        if self.per == "pair":
            parts.append("--per-pair")
        parts += ["--limit", str(self.max_edges)]
        return " ".join(parts)


def _check_set(spec: str) -> None:
    if spec in ("own", "external", "hva", "whitelist"):
        return
    kind, _, value = spec.partition(":")
    if kind in ("role", "country", "domain") and value:
        return
    if kind == "asn" and value.isdigit():
        return
    if kind == "cidr" and value:
        parse_cidr_or_ip(value, "set")
        return
    try:
        parse_cidr_or_ip(spec, "set")
    except ApiError:
        raise ApiError(f"set {spec!r}: expected own, external, hva, whitelist, role:NAME, "
                       "country:CC, asn:N, domain:NAME, cidr:CIDR or an IP/CIDR",
                       param="set") from None


def resolve_ips(snap: Snapshot, specs: tuple[str, ...]) -> list[str]:
    """IPs and CIDRs -> the workspace addresses they cover (IPs are kept as given)."""
    out: list[str] = []
    for spec in specs:
        if "/" in spec:
            out += snap.index.in_network(ipaddress.ip_network(spec, strict=False))
        else:
            out.append(spec)
    return sorted(set(out))


def _set_members(snap: Snapshot, cur: duckdb.DuckDBPyConnection, spec: str) -> set[str]:
    kind, _, value = spec.partition(":")
    if kind == "cidr" or (not value and spec not in ("own", "external", "hva", "whitelist")):
        return set(resolve_ips(snap, (parse_cidr_or_ip(value or spec, "set"),)))
    if not snap.has_hosts:
        raise ApiError(f"set {spec!r} needs the hosts table (run 'graphflow enrich')",
                       status=409, param="set")
    queries: dict[str, tuple[str, list[Any]]] = {
        "own": ("SELECT ip FROM hosts WHERE own", []),
        "external": ("SELECT ip FROM nodes WHERE ip NOT IN (SELECT ip FROM hosts WHERE own)",
                     []),
        "hva": ("SELECT ip FROM hosts WHERE hva", []),
        "whitelist": ("SELECT ip FROM hosts WHERE whitelisted", []),
        "role": ("SELECT ip FROM hosts WHERE role = ?", [value]),
        "country": ("SELECT ip FROM hosts WHERE upper(country) = upper(?)", [value]),
        "asn": ("SELECT ip FROM hosts WHERE asn = ?", [int(value) if value.isdigit() else -1]),
        "domain": ("SELECT ip FROM hosts WHERE lower(domain) = lower(?)", [value]),
    }
    sql, params = queries[kind if value else spec]
    return {r[0] for r in cur.execute(sql, params).fetchall()}


def resolve_sets(snap: Snapshot, cur: duckdb.DuckDBPyConnection, sets: tuple[str, ...],
                 op: str) -> list[str] | None:
    """The addresses of ``sets`` combined by ``op`` (None when no set is selected)."""
    if not sets:
        return None
    members = [_set_members(snap, cur, s) for s in sets]
    result = set(members[0])
    for m in members[1:]:
        if op == "union":
            result |= m
        elif op == "intersection":
            result &= m
        else:
            result -= m
    return sorted(result)


#: Up to this many addresses, an "either end" filter is written as literal IN lists, which
#: DuckDB checks against the row groups' min/max of the sorted in-memory edge copies.
IN_LIST_MAX = 5000


def either_end(snap: Snapshot, ips: list[str], clauses: list[str],
               params: list[Any]) -> tuple[str, list[Any]]:
    """A FROM item: the edges with ``ips`` at either end that satisfy ``clauses``.

    With the snapshot's sorted copies (``e_src`` by source, ``e_dst`` by destination) this
    reads only the row groups that hold those addresses; otherwise it filters ``edges``.
    """
    extra = "".join(f" AND {c}" for c in clauses)
    if not ips:
        return "(SELECT * FROM edges WHERE false)", []
    if snap.edges_in_memory and len(ips) <= IN_LIST_MAX:
        ph = ", ".join("?" * len(ips))
        # placeholders and constant clauses only: the values are parameters
        by_src = f"SELECT * FROM e_src WHERE src_ip IN ({ph}){extra}"  # noqa: S608
        by_dst = f"SELECT * FROM e_dst WHERE dst_ip IN ({ph}) AND src_ip NOT IN ({ph}){extra}"  # noqa: S608
        sql = f"({by_src} UNION ALL {by_dst})"
        return sql, [*ips, *params, *ips, *ips, *params]
    either = ("(src_ip IN (SELECT unnest(?::VARCHAR[])) "
              "OR dst_ip IN (SELECT unnest(?::VARCHAR[])))")
    sql = f"(SELECT * FROM edges WHERE {either}{extra})"  # noqa: S608 - constant clauses
    return sql, [ips, ips, *params]


def window_clauses(sel: Selection) -> tuple[list[str], list[Any]]:
    """The day window, port and protocol conditions of ``sel`` over edge rows."""
    clauses: list[str] = []
    params: list[Any] = []
    if sel.start:
        clauses.append("day >= ?")
        params.append(sel.start)
    if sel.end:
        clauses.append("day <= ?")
        params.append(sel.end)
    if sel.ports:
        clauses.append("CAST(dst_port AS INTEGER) IN (SELECT unnest(?::INTEGER[]))")
        params.append(list(sel.ports))
    if sel.protos:
        clauses.append("proto IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(sel.protos))
    return clauses, params


def edge_relation(snap: Snapshot, cur: duckdb.DuckDBPyConnection, sel: Selection, *,
                  hosts: bool = True) -> tuple[str, list[Any]]:
    """A FROM item (and its parameters) holding the edge rows of ``sel``.

    With ``hosts=False`` only the time, port and protocol filters apply.
    """
    clauses, params = window_clauses(sel)
    groups: list[list[str]] = []
    if hosts:
        if sel.hosts:
            groups.append(resolve_ips(snap, sel.hosts))
        in_sets = resolve_sets(snap, cur, sel.sets, sel.setop)
        if in_sets is not None:
            groups.append(in_sets)
        if sel.scope != "all":
            if not snap.has_hosts:
                raise ApiError("scope needs the hosts table (run 'graphflow enrich')",
                               status=409, param="scope")
            own_s = "(src_ip IN (SELECT ip FROM hosts WHERE own))"
            own_d = "(dst_ip IN (SELECT ip FROM hosts WHERE own))"
            clauses.append({"own": f"({own_s} AND {own_d})",
                            "external": f"NOT ({own_s} AND {own_d})",
                            "cross": f"({own_s} <> {own_d})"}[sel.scope])
    for ips in groups[1:]:  # further groups: plain conditions on the first group's rows
        clauses.append("(src_ip IN (SELECT unnest(?::VARCHAR[])) "
                       "OR dst_ip IN (SELECT unnest(?::VARCHAR[])))")
        params += [ips, ips]
    if groups:
        return either_end(snap, groups[0], clauses, params)
    table = "e_src" if snap.edges_in_memory else "edges"
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return f"(SELECT * FROM {table}{where})", params  # noqa: S608 - constant clauses
