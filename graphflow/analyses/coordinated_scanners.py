"""Coordinated scanners: groups of sources that together sweep own address space, each
member staying below every per-source threshold.

Candidates are external, non-whitelisted sources that are not per-source scanners (fan-out,
vertical or SYN-only by their default definitions) and reach own hosts with low-profile
edges. They are grouped by network prefix (``coordinated_prefix_v4``/``_v6``), by registered
DNS domain and by ASN (``group_by``); a group is reported when it has at least
``coordinated_min_members`` members that together reach at least ``coordinated_min_hosts``
distinct own hosts. Figures: members, coverage (own hosts), overlap (own hosts reached by
more than one member), per-member hosts, span. Cypher twin: ``cypher/coordinated_scanners.cypher``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pyarrow as pa

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.common import PROBE_SQL, edge_keys, iso
from graphflow.analyses.context import Context
from graphflow.errors import ConfigError
from graphflow.query import ip_sort_key

__all__ = ["ANALYSIS", "run"]

NAME = "coordinated_scanners"

_LOW = PROBE_SQL["low"]

#: Candidate probes: low-profile edges from external, non-whitelisted sources to own hosts,
#: leaving out sources that are scanners on their own.
_PROBES = f"""
    WITH ext AS (
        SELECT e.* FROM edges e JOIN hosts h ON h.ip = e.src_ip
        WHERE NOT h.own AND NOT coalesce(h.whitelisted, false)),
    fan AS (SELECT DISTINCT src_ip FROM (
        SELECT src_ip, day FROM ext WHERE failed_flows > 0 GROUP BY ALL
        HAVING count(DISTINCT dst_ip) >= $fanout_min_peers)),
    vert AS (SELECT DISTINCT src_ip FROM (
        SELECT src_ip, dst_ip, day FROM ext e WHERE dst_port IS NOT NULL AND {_LOW}
        GROUP BY ALL HAVING count(DISTINCT (proto, dst_port)) >= $vertical_min_ports)),
    syn AS (SELECT DISTINCT src_ip FROM (
        SELECT src_ip, day FROM ext GROUP BY ALL
        HAVING sum(failed_flows) >= $syn_only_min_flows
           AND sum(failed_flows) >= $syn_only_min_ratio * sum(flows))),
    probes AS (
        SELECT e.* FROM ext e JOIN hosts o ON o.ip = e.dst_ip
        WHERE o.own AND {_LOW}
          AND e.src_ip NOT IN (SELECT src_ip FROM fan UNION SELECT src_ip FROM vert
                               UNION SELECT src_ip FROM syn))
"""


def _group_keys(ctx: Context, p: dict[str, Any]) -> pa.Table:
    kinds = ["prefix", "domain", "asn"] if p["group_by"] == "all" else [p["group_by"]]
    if any(k not in ("prefix", "domain", "asn") for k in kinds):
        raise ConfigError("group_by", f"{p['group_by']!r}: expected prefix, domain, asn or all")
    rows = ctx.rows(_PROBES + """
        SELECT DISTINCT p.src_ip, h.domain, h.asn FROM probes p JOIN hosts h ON h.ip = p.src_ip
    """, p)
    ips, kind, key = [], [], []
    for r in rows:
        a = ipaddress.ip_address(r["src_ip"])
        plen = p["prefix_v4"] if a.version == 4 else p["prefix_v6"]
        values = {"prefix": str(ipaddress.ip_network(f"{a}/{plen}", strict=False)),
                  "domain": r["domain"], "asn": f"AS{r['asn']}" if r["asn"] else None}
        for k in kinds:
            if values[k]:
                ips.append(r["src_ip"])
                kind.append(k)
                key.append(values[k])
    return pa.table({"ip": pa.array(ips, pa.string()), "kind": pa.array(kind, pa.string()),
                     "key": pa.array(key, pa.string())})


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    ctx.con.register("group_keys", _group_keys(ctx, p))
    base = _PROBES + """,
        g AS (SELECT gk.kind, gk.key, probes.* FROM probes JOIN group_keys gk
              ON gk.ip = probes.src_ip),
        groups AS (SELECT kind, key FROM g GROUP BY ALL
                   HAVING count(DISTINCT src_ip) >= $min_members
                      AND count(DISTINCT dst_ip) >= $min_hosts),
        hit AS (SELECT g.* FROM g JOIN groups USING (kind, key))
    """
    rows = ctx.rows(base + """
        SELECT kind, key, count(DISTINCT src_ip) AS members, count(DISTINCT dst_ip) AS hosts,
               min(first_seen) AS first_seen, max(last_seen) AS last_seen,
               sum(flows)::BIGINT AS flows
        FROM hit GROUP BY ALL
    """, p)
    members = ctx.rows(base + """
        SELECT kind, key, src_ip, count(DISTINCT dst_ip) AS hosts FROM hit GROUP BY ALL
    """, p)
    overlap = ctx.rows(base + """
        SELECT kind, key, count(*) AS shared FROM (
            SELECT kind, key, dst_ip FROM hit GROUP BY ALL HAVING count(DISTINCT src_ip) > 1)
        GROUP BY ALL
    """, p)
    keys = edge_keys(ctx, base + """
        SELECT DISTINCT kind || ':' || key, day, src_ip, dst_ip, dst_port, proto FROM hit
    """, p)
    per_member: dict[tuple[str, str], dict[str, int]] = {}
    for r in members:
        per_member.setdefault((r["kind"], r["key"]), {})[r["src_ip"]] = int(r["hosts"])
    shared = {(r["kind"], r["key"]): int(r["shared"]) for r in overlap}
    findings = []
    for r in rows:
        gk = (r["kind"], r["key"])
        mem = sorted(per_member[gk], key=ip_sort_key)
        figures = {"group_by": r["kind"], "members": int(r["members"]),
                   "hosts": int(r["hosts"]), "overlap_hosts": shared.get(gk, 0),
                   "per_member": {m: per_member[gk][m] for m in mem},
                   "first_seen": iso(r["first_seen"]), "last_seen": iso(r["last_seen"]),
                   "flows": int(r["flows"])}
        findings.append(Finding(
            id=finding_id(NAME, r["key"], {"kind": r["kind"]}, p), analysis=NAME,
            entity=r["key"], members=mem, figures=figures,
            evidence={"fired": {"coordinated_min_members": p["min_members"],
                                "coordinated_min_hosts": p["min_hosts"]}, "params": p},
            drill={"edges": keys.get(f"{r['kind']}:{r['key']}", [])}))
    return sorted(findings, key=_order)


def _order(f: Finding) -> tuple[Any, ...]:
    """Most own hosts first, then the group kind and key (both backends)."""
    return (-f.figures["hosts"], f.figures["group_by"], f.entity)


ANALYSIS = Analysis(
    name=NAME,
    summary="Groups of low-profile sources (same prefix, DNS domain or ASN) sweeping own hosts.",
    explain=(__doc__ or "").strip(),
    params=(
        Param("min_members", int, "sources per group", default_from="coordinated_min_members"),
        Param("min_hosts", int, "own hosts reached together",
              default_from="coordinated_min_hosts"),
        Param("group_by", str, "prefix, domain, asn or all", default="all"),
        Param("prefix_v4", int, "IPv4 prefix length", default_from="coordinated_prefix_v4"),
        Param("prefix_v6", int, "IPv6 prefix length", default_from="coordinated_prefix_v6"),
        Param("fanout_min_peers", int, "per-source fan-out threshold",
              default_from="fanout_min_peers"),
        Param("vertical_min_ports", int, "per-source vertical threshold",
              default_from="vertical_min_ports"),
        Param("syn_only_min_flows", int, "per-source failed-flow threshold",
              default_from="syn_only_min_flows"),
        Param("syn_only_min_ratio", float, "per-source failed share",
              default_from="syn_only_min_ratio"),
        Param("max_pkts", int, "low-profile packets", default_from="scanner_max_pkts"),
        Param("max_bytes", int, "low-profile bytes", default_from="scanner_max_bytes"),
    ),
    run=run,
    cypher="coordinated_scanners.cypher",
    order=_order,
)
