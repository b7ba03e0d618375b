"""The side panels and tables: a host, an edge, a page of flows, search.

Each function takes a :class:`web.source.DataSource` and validated arguments and returns a
JSON-ready dict. All SQL takes its values as parameters.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any

import duckdb

from graphflow.db import fetch_arrow, parquet_source
from graphflow.schema import FLOW_COLUMNS, FLOW_FIELDS
from web.errors import ApiError
from web.graphview import address_class, group_key
from web.jsonable import jsonable, jsonable_row
from web.source import DataSource, Snapshot

__all__ = ["edge_panel", "flows_page", "host_panel", "search"]

#: Columns of the flows table in the UI (all canonical fields; the page shows a subset).
FLOW_VIEW: tuple[str, ...] = FLOW_COLUMNS


def _day_clause(start: dt.date | None, end: dt.date | None) -> tuple[list[str], list[Any]]:
    clauses, params = [], []
    if start:
        clauses.append("day >= ?")
        params.append(start)
    if end:
        clauses.append("day <= ?")
        params.append(end)
    return clauses, params


def _require_host(snap: Snapshot, ip: str) -> None:
    if ip not in snap.index:
        raise ApiError(f"host {ip} does not occur in this workspace", status=404, param="ip")


def host_panel(source: DataSource, ip: str, start: dt.date | None = None,
               end: dt.date | None = None, top: int = 15) -> dict[str, Any]:
    """Everything the host panel shows (findings come separately: see web.findings)."""
    with source.cursor() as (snap, cur):
        _require_host(snap, ip)
        days, dparams = _day_clause(start, end)
        dsql = "".join(f" AND {c}" for c in days)
        host = None
        if snap.has_hosts:
            rows = fetch_arrow(cur, "SELECT * FROM hosts WHERE ip = ?", [ip]).to_pylist()
            host = jsonable_row(rows[0]) if rows else None
        sql = f"""
            SELECT sum(flows) FILTER (WHERE src_ip = ?)::BIGINT,
                   sum(flows) FILTER (WHERE dst_ip = ?)::BIGINT,
                   sum(CASE WHEN src_ip = ? THEN src_bytes ELSE dst_bytes END)::BIGINT,
                   sum(CASE WHEN src_ip = ? THEN dst_bytes ELSE src_bytes END)::BIGINT,
                   count(DISTINCT dst_ip) FILTER (WHERE src_ip = ?),
                   count(DISTINCT src_ip) FILTER (WHERE dst_ip = ?),
                   min(first_seen), max(last_seen)
            FROM edges WHERE (src_ip = ? OR dst_ip = ?){dsql}"""  # noqa: S608 - constants
        totals = cur.execute(sql, [ip] * 8 + dparams).fetchall()[0]
        names = ("flows_out", "flows_in", "bytes_sent", "bytes_received", "peers_out",
                 "peers_in", "first_seen", "last_seen")
        served = fetch_arrow(cur, f"""
            SELECT proto, dst_port, sum(flows)::BIGINT AS flows,
                   count(DISTINCT src_ip)::BIGINT AS peers,
                   sum(src_bytes + dst_bytes)::BIGINT AS bytes,
                   sum(syn_only_flows)::BIGINT AS unanswered
            FROM edges WHERE dst_ip = ?{dsql} GROUP BY ALL
            ORDER BY flows DESC, proto, dst_port LIMIT ?""", [ip, *dparams, top]).to_pylist()  # noqa: S608
        used = fetch_arrow(cur, f"""
            SELECT proto, dst_port, sum(flows)::BIGINT AS flows,
                   count(DISTINCT dst_ip)::BIGINT AS peers,
                   sum(src_bytes + dst_bytes)::BIGINT AS bytes,
                   sum(syn_only_flows)::BIGINT AS unanswered
            FROM edges WHERE src_ip = ?{dsql} GROUP BY ALL
            ORDER BY flows DESC, proto, dst_port LIMIT ?""", [ip, *dparams, top]).to_pylist()  # noqa: S608
        peers = {}
        for direction, me, other in (("out", "src_ip", "dst_ip"), ("in", "dst_ip", "src_ip")):
            peers[direction] = fetch_arrow(cur, f"""
                SELECT e.{other} AS ip, sum(flows)::BIGINT AS flows,
                       sum(src_bytes + dst_bytes)::BIGINT AS bytes,
                       count(DISTINCT dst_port)::BIGINT AS ports,
                       any_value(h.name) AS name, any_value(h.dns) AS dns
                FROM edges e LEFT JOIN hosts h ON h.ip = e.{other}
                WHERE e.{me} = ?{dsql} GROUP BY e.{other}
                ORDER BY flows DESC, ip LIMIT ?""", [ip, *dparams, top]).to_pylist()  # noqa: S608 - column names are constants
        daily = _host_daily(cur, snap, ip)
    return {
        "ok": True, "ip": ip, "host": host, "has_hosts": snap.has_hosts,
        "address_class": (host or {}).get("address_class") or address_class(ip),
        "group": group_key(ip, "subnet"),
        "totals": {k: jsonable(v) if v is not None else 0 for k, v in zip(
            names, totals, strict=True)},
        "ports_served": [jsonable_row(r) for r in served],
        "ports_used": [jsonable_row(r) for r in used],
        "peers_out": [jsonable_row(r) for r in peers["out"]],
        "peers_in": [jsonable_row(r) for r in peers["in"]],
        "daily": daily,
    }


def _host_daily(cur: duckdb.DuckDBPyConnection, snap: Snapshot,
                ip: str) -> list[dict[str, Any]]:
    rows = cur.execute("""
        SELECT day, sum(flows)::BIGINT,
               sum(CASE WHEN src_ip = ? THEN src_bytes ELSE dst_bytes END)::BIGINT,
               sum(CASE WHEN src_ip = ? THEN dst_bytes ELSE src_bytes END)::BIGINT
        FROM edges WHERE src_ip = ? OR dst_ip = ? GROUP BY day""", [ip, ip, ip, ip]).fetchall()
    return _daily_rows(snap, rows)


def _daily_rows(snap: Snapshot, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """One entry per workspace day with the same weekday one week earlier beside it."""
    by_day = {d: (int(f), int(s), int(r)) for d, f, s, r in rows}
    days = set(snap.day_list)
    out = []
    for day in snap.day_list:
        f, s, r = by_day.get(day, (0, 0, 0))
        before = day - dt.timedelta(days=7)
        wf, ws_, wr = by_day.get(before, (0, 0, 0))
        out.append({"day": day.isoformat(), "flows": f, "bytes_sent": s,
                    "bytes_received": r, "bytes": s + r,
                    "week_before": {"day": before.isoformat(), "flows": wf,
                                    "bytes": ws_ + wr} if before in days else None})
    return out


def _edge_where(src: str, dst: str, port: int | None, proto: str | None,
                start: dt.date | None, end: dt.date | None) -> tuple[str, list[Any]]:
    clauses = ["src_ip = ?", "dst_ip = ?"]
    params: list[Any] = [src, dst]
    if port is not None:
        clauses.append("dst_port = ?")
        params.append(port)
    if proto is not None:
        clauses.append("proto = ?")
        params.append(proto)
    days, dparams = _day_clause(start, end)
    return " AND ".join(clauses + days), params + dparams


def edge_panel(source: DataSource, src: str, dst: str, port: int | None, proto: str | None,
               start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
    """The figures of one edge (a pair, or a pair on one port/proto)."""
    where, params = _edge_where(src, dst, port, proto, start, end)
    with source.cursor() as (snap, cur):
        _require_host(snap, src)
        _require_host(snap, dst)
        row = fetch_arrow(cur, f"""
            SELECT sum(flows)::BIGINT AS flows, sum(src_bytes)::BIGINT AS src_bytes,
                   sum(dst_bytes)::BIGINT AS dst_bytes, sum(src_pkts)::BIGINT AS src_pkts,
                   sum(dst_pkts)::BIGINT AS dst_pkts, min(first_seen) AS first_seen,
                   max(last_seen) AS last_seen, sum(s0_flows)::BIGINT AS s0_flows,
                   sum(rej_flows)::BIGINT AS rej_flows,
                   sum(syn_only_flows)::BIGINT AS syn_only_flows,
                   count(DISTINCT day)::BIGINT AS days,
                   list_sort(list_distinct(list(proto || '/' ||
                       coalesce(CAST(dst_port AS VARCHAR), '-')))) AS services
            FROM edges WHERE {where}""", params).to_pylist()[0]  # noqa: S608 - constants
        per_day = cur.execute(f"""
            SELECT day, sum(flows)::BIGINT, sum(src_bytes + dst_bytes)::BIGINT FROM edges
            WHERE {where} GROUP BY day ORDER BY day""", params).fetchall()  # noqa: S608
    if not row["flows"]:
        raise ApiError(f"no edge {src} -> {dst}" + (f" {proto}/{port}" if port is not None
                                                     else "") + " in this selection",
                       status=404)
    return {"ok": True, "src": src, "dst": dst, "dst_port": port, "proto": proto,
            **jsonable_row(row),
            "per_day": [{"day": d.isoformat(), "flows": int(f), "bytes": int(b)}
                        for d, f, b in per_day]}


def flows_page(source: DataSource, *, src: str | None, dst: str | None, host: str | None,
               port: int | None, proto: str | None, start: dt.date | None,
               end: dt.date | None, limit: int, offset: int) -> dict[str, Any]:
    """A page of flows in (ts, source_file, source_line) order, with the total count.

    ``host`` is an IP or a CIDR at either end. The edges say on which days such flows exist
    and how many there are (they are the flows' exact per-day sums), so only those days'
    Parquet files are read, and the total costs no scan of the flows.
    """
    with source.cursor() as (snap, cur):
        clauses: list[str] = []
        params: list[Any] = []
        for col, value in (("src_ip", src), ("dst_ip", dst), ("dst_port", port),
                           ("proto", proto)):
            if value is not None:
                clauses.append(f"{col} = ?")
                params.append(value)
        if host is not None:
            net = ipaddress.ip_network(host, strict=False)
            if net.num_addresses == 1:
                clauses.append("(src_ip = ? OR dst_ip = ?)")
                params += [str(net.network_address)] * 2
            else:
                ips = snap.index.in_network(net)
                clauses.append("(src_ip IN (SELECT unnest(?::VARCHAR[])) "
                               "OR dst_ip IN (SELECT unnest(?::VARCHAR[])))")
                params += [ips, ips]
        days, dparams = _day_clause(start, end)
        if not clauses and not days:
            raise ApiError("flows: give at least one of src, dst, host, port, proto, from, "
                           "to (the whole workspace is not paged)", param="src")
        where = " WHERE " + " AND ".join(clauses + days)
        per_day = cur.execute(f"SELECT day, sum(flows)::BIGINT FROM edges{where} "  # noqa: S608 - constants
                              "GROUP BY day", params + dparams).fetchall()
        total = sum(int(n) for _, n in per_day)
        # flows are in day order first (a flow's partition is the day of its ts): read only
        # the days that hold rows offset .. offset+limit
        days_needed: list[dt.date] = []
        skipped = seen = 0
        for d, n in sorted(per_day):
            if seen + n <= offset:
                skipped += int(n)
            elif seen < offset + limit:
                days_needed.append(d)
            seen += int(n)
        files = [f for d in days_needed for f in snap.flow_files.get(d, [])]
        rows: list[dict[str, Any]] = []
        if files:
            relation = parquet_source(files, FLOW_FIELDS)
            cond = " AND ".join(clauses) if clauses else "true"
            rows = fetch_arrow(cur, f"SELECT {', '.join(FLOW_VIEW)} FROM {relation} "  # noqa: S608 - paths listed from the workspace, values are parameters
                               f"WHERE {cond} ORDER BY ts, source_file, source_line "
                               "LIMIT ? OFFSET ?",
                               [*params, limit, offset - skipped]).to_pylist()
    return {"ok": True, "total": total, "limit": limit, "offset": offset,
            "columns": list(FLOW_VIEW), "flows": [jsonable_row(r) for r in rows]}


def _like_pattern(q: str) -> str:
    esc = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return esc.replace("*", "%") if "*" in q else f"%{esc}%"


def search(source: DataSource, q: str, limit: int = 50) -> dict[str, Any]:
    """Find hosts by IP, CIDR or DNS/asset name (substring, or ``*`` wildcards)."""
    text = q.strip()
    with source.cursor() as (snap, cur):
        try:
            if "/" in text:
                net = ipaddress.ip_network(text, strict=False)
                ips = snap.index.in_network(net)
                kind = "cidr"
            else:
                ips = [str(ipaddress.ip_address(text))]
                kind = "ip"
                if ips[0] not in snap.index:
                    return {"ok": True, "query": q, "kind": kind, "total": 0, "results": [],
                            "note": f"{ips[0]} does not occur in this workspace"}
        except ValueError:
            kind = "name"
            ips = []
        note = None
        if kind == "name":
            if not snap.has_hosts:
                return {"ok": True, "query": q, "kind": kind, "total": 0, "results": [],
                        "note": "searching by DNS name needs the hosts table (run "
                                "'graphflow enrich'); IPs and CIDRs work without it"}
            pat = _like_pattern(text)
            rows = cur.execute(r"""
                SELECT ip FROM hosts
                WHERE ip IN (SELECT ip FROM nodes)
                  AND (lower(name) LIKE lower(?) ESCAPE '\'
                       OR EXISTS (SELECT 1 FROM unnest(dns) AS t(n)
                                  WHERE lower(t.n) LIKE lower(?) ESCAPE '\'))""",
                               [pat, pat]).fetchall()
            ips = [r[0] for r in rows]
        total = len(ips)
        from graphflow.query import ip_sort_key

        ips = sorted(ips, key=ip_sort_key)[:limit]
        info: dict[str, dict[str, Any]] = {}
        if snap.has_hosts and ips:
            for r in fetch_arrow(cur, "SELECT ip, name, dns, own, hva, role FROM hosts "
                                 "WHERE ip IN (SELECT unnest(?::VARCHAR[]))", [ips]).to_pylist():
                info[r["ip"]] = r
    results = [{"ip": ip, **{k: jsonable(v) for k, v in info.get(ip, {}).items() if k != "ip"}}
               for ip in ips]
    if total > limit:
        note = f"{total} matches; showing the first {limit}"
    return {"ok": True, "query": q, "kind": kind, "total": total, "results": results,
            "note": note}
