"""The graph the browser draws: hosts as nodes, edges per pair or per port, bounded.

Pipeline (all whole-table work in DuckDB, on one request cursor):

1. base rows: the selection's edges summed over its days, one row per (src, dst, port,
   proto) -- or, for a finding, the flows behind it summed the same way;
2. AfterGlow's thresholds on the displayed edges: source fan-out (keep each source's
   ``fanout`` heaviest edges) and omit (drop nodes seen in fewer than ``omit`` edges, and an
   edge unless both its ends stay);
3. expansions: the k-hop neighbourhoods of the ``expand`` hosts (time/port/proto filters
   only), added to the base; those hosts are never collapsed;
4. collapse: when the selection has more edges than ``max_edges`` (or when asked), hosts are
   grouped by subnet (/24, /64), ASN or DNS domain into group nodes, except groups the user
   opened; edges between groups are summed;
5. at most ``max_edges`` edges leave the server (the heaviest), with counts of what was left
   out, so the browser never receives a hairball.
"""

from __future__ import annotations

import functools
import ipaddress
from collections import defaultdict
from typing import Any

import duckdb
import pyarrow as pa

from graphflow.db import fetch_arrow
from graphflow.edges import EDGE_AGG_SQL
from web.errors import ApiError
from web.jsonable import iso_time, jsonable
from web.selection import Limits, Selection, edge_relation, either_end, window_clauses
from web.source import DataSource, Snapshot, scalar

__all__ = ["build_graph", "group_key", "address_class"]

def _per_port_sql(snap: Snapshot, relation: str, where: str = "") -> str:
    """Edge rows of ``relation`` summed over days per (src, dst, port, proto)."""
    sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in snap.edge_counts)
    return f"""
SELECT src_ip, dst_ip, dst_port, proto, {sums},
       min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       list(DISTINCT day) AS day_list
FROM {relation}{where}
GROUP BY src_ip, dst_ip, dst_port, proto
"""  # noqa: S608 - relation and columns are constants (EDGE_FIELDS), values are parameters


#: Automatic collapse with a hosts table: own hosts by subnet, external hosts by ASN.
MIXED = "subnet+asn"

#: IPv4 prefix -> the IPv6 prefix used at the same collapse level
V6_PREFIX = {8: 32, 16: 48, 24: 64}


def group_key(ip: str, kind: str, attrs: dict[str, Any] | None = None,
              prefix: int = 24) -> str:
    """The group an address collapses into: ``subnet:`` /24 (/64 for IPv6, or a coarser
    level), ``asn:N``, ``domain:NAME``; without an ASN or domain, its subnet.

    >>> group_key("10.10.16.7", "subnet"), group_key("2001:db8:a:10::5", "subnet")
    ('subnet:10.10.16.0/24', 'subnet:2001:db8:a:10::/64')
    >>> group_key("10.10.16.7", "subnet", prefix=16)
    'subnet:10.10.0.0/16'
    >>> group_key("8.8.8.8", "asn", {"asn": 15169}), group_key("10.0.0.1", "domain", {})
    ('asn:15169', 'subnet:10.0.0.0/24')
    """
    attrs = attrs or {}
    if kind == "asn" and attrs.get("asn") is not None:
        return f"asn:{int(attrs['asn'])}"
    if kind == "domain" and attrs.get("domain"):
        return f"domain:{attrs['domain']}"
    if ":" not in ip and prefix == 24:
        head, _, _ = ip.rpartition(".")
        return f"subnet:{head}.0/24"
    bits = prefix if ":" not in ip else V6_PREFIX.get(prefix, 64)
    return f"subnet:{ipaddress.ip_network(f'{ip}/{bits}', strict=False)}"


def _close_specs(close: tuple[str, ...]) -> set[tuple[str, int]]:
    """(kind, prefix) pairs that the ``close`` group keys use."""
    out = set()
    for key in close:
        kind, _, value = key.partition(":")
        if kind == "subnet":
            try:
                net = ipaddress.ip_network(value, strict=False)
            except ValueError:
                continue
            v4 = net.prefixlen if net.version == 4 else next(
                (p for p, q in V6_PREFIX.items() if q == net.prefixlen), 24)
            out.add(("subnet", v4))
        elif kind in ("asn", "domain"):
            out.add((kind, 24))
    return out


@functools.lru_cache(maxsize=65536)
def address_class(ip: str) -> str:
    """The address class without the hosts table (private/public/...).

    >>> address_class("10.1.2.3"), address_class("8.8.8.8"), address_class("ff02::1")
    ('private', 'public', 'multicast')
    """
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    for name in ("loopback", "multicast", "link_local", "unspecified", "reserved"):
        if getattr(a, f"is_{name}"):
            return name.replace("_", "-")
    if a.is_private:
        return "private"
    return "public" if a.is_global else "special"


def _base_from_selection(snap: Snapshot, cur: duckdb.DuckDBPyConnection,
                         sel: Selection) -> None:
    relation, params = edge_relation(snap, cur, sel)
    cur.execute("CREATE TEMP TABLE base AS " + _per_port_sql(snap, relation), params)


def _base_from_finding(snap: Snapshot, cur: duckdb.DuckDBPyConnection,
                       flows: pa.Table) -> None:
    """The flows behind a finding, as edge rows (the edge model's own aggregation)."""
    cur.register("f", flows)
    try:
        cur.execute(f"CREATE TEMP TABLE finding_edges AS {EDGE_AGG_SQL}")
        cur.execute("CREATE TEMP TABLE base AS " + _per_port_sql(snap, "finding_edges"))
    finally:
        cur.unregister("f")


def _display_keys(sel: Selection) -> str:
    return "src_ip, dst_ip, dst_port, proto" if sel.per == "port" else "src_ip, dst_ip"


def _thresholds(cur: duckdb.DuckDBPyConnection, sel: Selection) -> None:
    """AfterGlow source fan-out and omit thresholds, on the displayed edges."""
    if sel.min_weight <= 1 and not sel.fanout and not sel.omit:
        return
    keys = _display_keys(sel)
    fanout = "QUALIFY row_number() OVER (PARTITION BY src_ip ORDER BY flows DESC, dst_ip) <= ?"
    cur.execute(f"""
        CREATE TEMP TABLE keep AS
        WITH disp AS (SELECT {keys}, sum(flows) AS flows FROM base GROUP BY {keys}
                      HAVING sum(flows) >= ?),
             fo AS (SELECT * FROM disp {fanout if sel.fanout else ''}),
             deg AS (SELECT ip, count(*) AS n FROM (SELECT src_ip AS ip FROM fo
                     UNION ALL SELECT dst_ip FROM fo) GROUP BY ip)
        SELECT fo.* FROM fo JOIN deg d1 ON d1.ip = fo.src_ip JOIN deg d2 ON d2.ip = fo.dst_ip
        WHERE d1.n >= ? AND d2.n >= ?
    """, [sel.min_weight, *([sel.fanout] if sel.fanout else []), sel.omit, sel.omit])  # noqa: S608 - keys and clauses are constants
    on = " AND ".join(f"b.{k} IS NOT DISTINCT FROM k.{k}" for k in keys.split(", "))
    cur.execute(f"CREATE TEMP TABLE base2 AS SELECT b.* FROM base b SEMI JOIN keep k ON {on}")  # noqa: S608
    cur.execute("DROP TABLE base")
    cur.execute("ALTER TABLE base2 RENAME TO base")


def _expand(snap: Snapshot, cur: duckdb.DuckDBPyConnection, sel: Selection) -> set[str]:
    """Add the k-hop neighbourhoods of ``sel.expand``; return every host they reached."""
    if not sel.expand:
        return set()
    clauses, params = window_clauses(sel)
    pinned: set[str] = set()
    frontier_cap = 2000
    for ip in sel.expand:
        seen = {ip}
        frontier = [ip]
        for _hop in range(sel.hops):
            if not frontier:
                break
            relation, rparams = either_end(snap, frontier, clauses, params)
            sql = _per_port_sql(snap, relation) + " ORDER BY flows DESC LIMIT ?"
            cur.execute("CREATE OR REPLACE TEMP TABLE hop AS " + sql, [*rparams, sel.max_edges])
            cur.execute("""INSERT INTO base SELECT h.* FROM hop h ANTI JOIN base b
                           ON b.src_ip = h.src_ip AND b.dst_ip = h.dst_ip
                           AND b.dst_port IS NOT DISTINCT FROM h.dst_port
                           AND b.proto = h.proto""")
            ends = cur.execute("SELECT src_ip FROM hop UNION SELECT dst_ip FROM hop").fetchall()
            new = [e[0] for e in ends if e[0] not in seen]
            seen.update(new)
            frontier = new[:frontier_cap]
        pinned |= seen
    return pinned


def _host_attrs(snap: Snapshot, cur: duckdb.DuckDBPyConnection,
                ips: list[str]) -> dict[str, dict[str, Any]]:
    if not snap.has_hosts or not ips:
        return {}
    tab = fetch_arrow(cur, "SELECT * FROM hosts WHERE ip IN (SELECT unnest(?::VARCHAR[]))",
                      [ips])
    return {r["ip"]: r for r in tab.to_pylist()}


def _node_map(snap: Snapshot, cur: duckdb.DuckDBPyConnection, sel: Selection, mode: str,
              prefix: int, pinned: set[str]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """ip -> node id (itself or its group) for collapse ``mode``, and hosts attributes."""
    ips = [r[0] for r in cur.execute(
        "SELECT src_ip FROM base UNION SELECT dst_ip FROM base").fetchall()]
    specs = {(mode, prefix)} if mode != "none" else _close_specs(sel.close)
    kinds = {k for k, _ in specs}
    if kinds & {"asn", "domain", MIXED} and not snap.has_hosts:
        raise ApiError("collapsing by ASN or DNS domain needs the hosts table (run "
                       "'graphflow enrich')", status=409, param="collapse")
    attrs = _host_attrs(snap, cur, ips) if kinds & {"asn", "domain", MIXED} else {}
    mapping: dict[str, str] = {}
    members: dict[str, int] = defaultdict(int)
    for ip in ips:
        node = ip
        if ip not in pinned:
            if mode == MIXED:  # own hosts by subnet, external ones by ASN
                a = attrs.get(ip) or {}
                g = group_key(ip, "subnet" if a.get("own") else "asn", a, prefix)
                if g not in sel.open:
                    node = g
            elif mode != "none":
                g = group_key(ip, mode, attrs.get(ip), prefix)
                if g not in sel.open:
                    node = g
            else:
                for kind, p in specs:
                    g = group_key(ip, kind, attrs.get(ip), p)
                    if g in sel.close:
                        node = g
                        break
        mapping[ip] = node
        members[node] += 1
    for ip, node in mapping.items():  # a group of one is shown as its host
        if node != ip and members[node] == 1 and node not in sel.close:
            mapping[ip] = ip
    return mapping, attrs


def _final_edges(snap: Snapshot, cur: duckdb.DuckDBPyConnection, sel: Selection,
                 mapping: dict[str, str]) -> tuple[int, list[dict[str, Any]], dict[str, int]]:
    grp = [node != ip for ip, node in mapping.items()]
    cur.register("nodemap_arrow", pa.table({"ip": list(mapping), "node": list(mapping.values()),
                                            "grp": grp}))
    per_port = sel.per == "port"
    port = ("CASE WHEN m1.grp OR m2.grp THEN NULL ELSE b.dst_port END" if per_port
            else "CAST(NULL AS USMALLINT)")
    proto = ("CASE WHEN m1.grp OR m2.grp THEN NULL ELSE b.proto END" if per_port
             else "CAST(NULL AS VARCHAR)")
    sums = ", ".join(f"sum(b.{c})::BIGINT AS {c}" for c in snap.edge_counts)
    try:
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE view_edges AS
            SELECT m1.node AS source, m2.node AS target, {port} AS dst_port, {proto} AS proto,
                   {sums}, min(b.first_seen) AS first_seen, max(b.last_seen) AS last_seen,
                   len(list_distinct(flatten(list(b.day_list))))::BIGINT AS days,
                   list_sort(list_distinct(flatten(list(b.day_list)))) AS day_list,
                   count(DISTINCT (b.proto, b.dst_port))::BIGINT AS services,
                   list_sort(list_distinct(list(b.proto || '/' ||
                       coalesce(CAST(b.dst_port AS VARCHAR), '-'))))[1:6] AS service_list,
                   bool_or(m1.grp OR m2.grp) AS grouped
            FROM base b JOIN nodemap_arrow m1 ON m1.ip = b.src_ip
                        JOIN nodemap_arrow m2 ON m2.ip = b.dst_ip
            WHERE NOT (m1.node = m2.node AND m1.grp)
            GROUP BY ALL
        """)  # noqa: S608 - expressions are constants
        internal = dict(cur.execute("""
            SELECT m1.node, sum(b.flows)::BIGINT FROM base b
            JOIN nodemap_arrow m1 ON m1.ip = b.src_ip JOIN nodemap_arrow m2 ON m2.ip = b.dst_ip
            WHERE m1.node = m2.node AND m1.grp GROUP BY 1""").fetchall())
    finally:
        cur.unregister("nodemap_arrow")
    total = scalar(cur, "SELECT count(*) FROM view_edges")
    rows = fetch_arrow(cur, "SELECT * FROM view_edges ORDER BY flows DESC, source, target, "
                       "dst_port, proto LIMIT ?", [sel.max_edges]).to_pylist()
    return int(total), rows, {k: int(v) for k, v in internal.items()}


def _group_label(node: str, count: int, attrs: dict[str, dict[str, Any]],
                 members: list[str]) -> str:
    kind, _, value = node.partition(":")
    if kind == "asn":
        orgs = sorted({str(o) for m in members if (o := attrs.get(m, {}).get("as_org"))})
        org = orgs[0] if orgs else ""
        return f"AS{value} {org} ({count})".replace("  ", " ")
    return f"{value} ({count})"


def build_graph(source: DataSource, sel: Selection, limits: Limits,
                finding: dict[str, Any] | None = None,
                finding_flows: pa.Table | None = None, *,
                with_days: bool = False) -> dict[str, Any]:
    """The JSON document of ``/api/graph`` (see docs/web.md for its fields); each edge
    carries its active days (``day_list``) when ``with_days``."""
    with source.cursor() as (snap, cur):
        if finding_flows is not None:
            _base_from_finding(snap, cur, finding_flows)
        else:
            _base_from_selection(snap, cur, sel)
        _thresholds(cur, sel)
        pinned = _expand(snap, cur, sel)
        keys = _display_keys(sel)
        n_display = scalar(cur, f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM base)")  # noqa: S608
        extra_nodes: list[str] = []
        roles: dict[str, str] = {}
        if finding is not None:
            for m in finding.get("members") or []:
                roles[m] = "member"
            roles[finding["entity"]] = "entity"
            extra_nodes = [n for n in roles if _is_ip(n)]
            pinned |= set(extra_nodes)
        mode, levels = sel.collapse, [sel.prefix]
        if mode == "auto":
            too_big = n_display > sel.max_edges
            mode = (MIXED if snap.has_hosts else "subnet") if too_big else "none"
            levels = [p for p in (24, 16, 8) if p <= sel.prefix] if too_big else [24]
        for prefix in levels:  # auto: coarser subnets until the view fits
            mapping, attrs = _node_map(snap, cur, sel, mode, prefix, pinned)
            total, rows, internal = _final_edges(snap, cur, sel, mapping)
            if total <= sel.max_edges:
                break
        members_of: dict[str, list[str]] = defaultdict(list)
        for ip, node in mapping.items():
            members_of[node].append(ip)
        node_ids: list[str] = []
        seen: set[str] = set()
        for r in rows:
            for n in (r["source"], r["target"]):
                if n not in seen:
                    seen.add(n)
                    node_ids.append(n)
        for n in extra_nodes:
            if n not in seen:
                seen.add(n)
                node_ids.append(n)
        individuals = [n for n in node_ids if n not in members_of or members_of[n] == [n]]
        hosts = _host_attrs(snap, cur, individuals)
        if not attrs:
            attrs = hosts
        has_hosts = snap.has_hosts
    stats: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    edges = []
    for i, r in enumerate(rows):
        if not with_days:
            del r["day_list"]
        for k in ("first_seen", "last_seen"):
            r[k] = iso_time(r[k])
        if with_days:
            r["day_list"] = [d.isoformat() for d in r["day_list"] or []]
        r["id"] = f"e{i}"
        r["bytes"] = (r["src_bytes"] or 0) + (r["dst_bytes"] or 0)
        edges.append(r)
        for end, other in (("out", r["source"]), ("in", r["target"])):
            s = stats[other]
            s[f"{end}_degree"] += 1
            s[f"{end}_flows"] += r["flows"]
            s["bytes"] += r["bytes"]
    nodes = []
    for n in node_ids:
        is_group = n in members_of and members_of[n] != [n]
        doc: dict[str, Any] = {"id": n, "kind": "group" if is_group else "host",
                               **{k: stats[n].get(k, 0) for k in (
                                   "in_degree", "out_degree", "in_flows", "out_flows",
                                   "bytes")}}
        if is_group:
            doc.update(group=n, members=len(members_of[n]),
                       label=_group_label(n, len(members_of[n]), attrs, members_of[n]),
                       internal_flows=internal.get(n, 0))
        else:
            h = hosts.get(n)
            doc.update(ip=n, group=group_key(n, "subnet"))
            if h:
                doc.update({k: jsonable(v) for k, v in h.items() if k != "ip"})
            else:
                doc["address_class"] = address_class(n)
            if n in roles:
                doc["finding_role"] = roles[n]
            elif finding is not None:
                doc["finding_role"] = "peer"
        nodes.append(doc)
    return {
        "ok": True,
        "nodes": nodes,
        "edges": edges,
        "stats": {"edges_total": total, "edges_shown": len(edges), "nodes": len(nodes),
                  "truncated": total > len(edges), "selection_edges": int(n_display),
                  "collapsed_by": mode if mode != "none" else None,
                  "prefix": prefix if mode in ("subnet", MIXED) else None,
                  "auto_collapsed": sel.collapse == "auto" and mode != "none",
                  "max_edges": sel.max_edges, "has_hosts": has_hosts},
    }


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
