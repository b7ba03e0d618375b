"""Analyses benchmark: every registered analysis over a workspace of N generated flows, timed
beside the same question written directly in DuckDB SQL over the same flow Parquet, in the
same run, after asserting that both give the same result set.

    python bench/analyses_bench.py --sizes 1000000,10000000 [--reuse] [--repeat 3] [--only A,B]

Uses the generated conn.log of bench/ingest_bench.py (bench/out/conn-N/) and its side files
(assets.json, whitelist.txt, names.csv), ingested and enriched into bench/out/ws-analyses-N
(``--reuse`` keeps an existing workspace instead of rebuilding it).

What is timed:

* **ours**: ``open_context(ws)`` (DuckDB connection, views over the workspace Parquet, the
  hosts view) plus ``ANALYSIS.run(ctx, defaults)`` -- everything an analysis does: its SQL over
  the edge model (the flows aggregated per day/src/dst/port/proto at ingest), the Python that
  builds findings, and the collection of drill-down edge keys. Not the findings cache.
* **DuckDB direct**: a fresh DuckDB connection (same memory limit and time zone) plus one
  hand-written query that answers the same question starting from ``read_parquet`` over
  ``ws.flow_files()`` -- never from the edges table -- with the side inputs the analysis uses:
  the workspace hosts table (own networks, HVAs, whitelisted, roles, DNS domain, ASN: input
  data), and for the group keys and the policy checks small tables built from the hosts table
  and the inventory (that building is timed too).
* ingest (with, from its report, the edges build inside it) and enrich are timed once per
  size when the workspace is (re)built; they are not part of either side.

With ``--repeat N`` both sides run N times, alternating, and the best time of each is kept
(the machine is shared). Both answers are reduced to comparable tuples (entities, members for
group analyses, and the key integer figures) and must be equal as sets, or the benchmark
stops. Thresholds come from ``analysis_params(name)`` (that is,
:class:`graphflow.config.Thresholds` defaults) for both.
Peak RSS is the process high-water mark over the analyses only (reset after ingest through
``/proc/self/clear_refs`` where the kernel allows it). Results go to bench/out/analyses.json.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import platform
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

OUT = Path(__file__).resolve().parent / "out"

#: A flow got no answer (same definition as graphflow.edges.FAILED_SQL, written out again so
#: that a change there shows up as a mismatch here).
FAILED = "(f.state IN ('REJ', 'RSTOS0') OR coalesce(f.dst_pkts, 0) = 0)"

#: Flows grouped by the edge key (day, src, dst, port, proto), from a flow relation named
#: ``f``: needed wherever "low-profile" is decided per edge row (sums over its flows).
EDGE_ROWS = f"""
    SELECT f.day, f.src_ip, f.dst_ip, f.dst_port, f.proto, count(*) AS flows,
           count(*) FILTER (WHERE {FAILED}) AS failed_flows,
           sum(coalesce(f.src_pkts, 0) + coalesce(f.dst_pkts, 0)) AS pkts,
           sum(coalesce(f.src_bytes, 0) + coalesce(f.dst_bytes, 0)) AS bytes,
           min(f.ts) AS first_seen
    FROM f GROUP BY ALL"""  # noqa: S608 - constants only

#: Low-profile edge row: every flow unanswered, or tiny over both directions.
LOW = "(e.failed_flows = e.flows OR (e.pkts <= $max_pkts AND e.bytes <= $max_bytes))"

#: External, non-whitelisted sources (hosts table ``h``).
EXTERNAL_SRC = "f.src_ip IN (SELECT ip FROM h WHERE NOT own AND NOT coalesce(whitelisted, false))"
NOT_WHITELISTED_SRC = "f.src_ip NOT IN (SELECT ip FROM h WHERE coalesce(whitelisted, false))"


def _ms(v: Any) -> tuple[str, ...]:
    return tuple(sorted(str(x) for x in v or ()))


@dataclass
class Direct:
    """The same question in DuckDB SQL over the flows, and how to compare both answers."""

    sql: str
    row: Callable[[tuple[Any, ...]], tuple[Any, ...]]   # direct row -> comparable tuple
    ours: Callable[[Any], tuple[Any, ...]]              # our Finding -> the same tuple
    prepare: Callable[[duckdb.DuckDBPyConnection, Any, dict[str, Any]], None] | None = None


# ---- side tables built from input data (timed with the direct query) -------------------------
def _group_keys(con: duckdb.DuckDBPyConnection, ws: Any, p: dict[str, Any]) -> None:
    """External hosts -> (kind, key): network prefix, registered DNS domain, AS number."""
    ips, kinds, keys = [], [], []
    for ip, domain, asn in con.execute(
            "SELECT ip, domain, asn FROM h WHERE NOT own").fetchall():
        a = ipaddress.ip_address(ip)
        plen = p["prefix_v4"] if a.version == 4 else p["prefix_v6"]
        for kind, key in (("prefix", str(ipaddress.ip_network(f"{a}/{plen}", strict=False))),
                          ("domain", domain), ("asn", f"AS{asn}" if asn else None)):
            if key:
                ips.append(ip)
                kinds.append(kind)
                keys.append(key)
    con.register("group_keys", pa.table({"ip": pa.array(ips, pa.string()),
                                         "kind": pa.array(kinds, pa.string()),
                                         "key": pa.array(keys, pa.string())}))


def _policy_tables(con: duckdb.DuckDBPyConnection, ws: Any, p: dict[str, Any]) -> None:
    """From the inventory: per host own/role/in-ranges/bogon (``hx``), which role policies
    declare which direction (``declared``), and each role's rules merged with the defaults
    (``rules``: subject, direction, proto, lo, hi, peer)."""
    from graphflow.assets import load_inventory
    from graphflow.ipsets import parse_addrs

    inv = load_inventory(ws)
    assert inv is not None, "the bench workspace has an inventory"
    assert not any(getattr(a, "policy", None) for a in inv.assets), "asset policies: not covered"
    ips = [r[0] for r in con.execute("SELECT ip FROM h").fetchall()]
    c = inv.classify(ips)
    con.register("hx", pa.table({
        "ip": pa.array(ips, pa.string()), "own": c["own"], "role": c["role"],
        "in_ranges": c["in_ranges"],
        "bogon": pa.array(inv.non_routable.contains(parse_addrs(ips)))}))

    def peer_text(p: Any) -> str:
        if p.kind == "keyword" or p.kind == "role":
            return p.value if p.kind == "keyword" else f"role:{p.value}"
        raise AssertionError(f"peer kind {p.kind}: not covered by the direct SQL")

    declared: dict[str, list[Any]] = {"subject": [], "direction": []}
    rules: dict[str, list[Any]] = {k: [] for k in ("subject", "direction", "proto", "lo", "hi",
                                                   "peer")}
    for role, pol in inv.role_policies.items():
        for direction in ("inbound", "outbound"):
            dp = pol.direction(direction)
            assert dp.countries is None, "country rules: not covered by the direct SQL"
            if dp.rules is None:
                continue
            declared["subject"].append(role)
            declared["direction"].append(direction)
            merged = list(dp.rules) + list(inv.defaults.direction(direction).rules or ()
                                           if inv.defaults else ())
            for rule in merged:
                for peer in rule.peers:
                    rules["subject"].append(role)
                    rules["direction"].append(direction)
                    rules["proto"].append(rule.port.proto)
                    rules["lo"].append(rule.port.low)
                    rules["hi"].append(rule.port.high if rule.port.high is not None
                                       else rule.port.low)
                    rules["peer"].append(peer_text(peer))
    con.register("declared", pa.table(declared, pa.schema([("subject", pa.string()),
                                                           ("direction", pa.string())])))
    con.register("rules", pa.table(rules, pa.schema([
        ("subject", pa.string()), ("direction", pa.string()), ("proto", pa.string()),
        ("lo", pa.int64()), ("hi", pa.int64()), ("peer", pa.string())])))


# ---- the twelve questions, directly over the flows ---------------------------------------------
DIRECT: dict[str, Direct] = {
    # Sources reaching >= min_peers distinct peers with unanswered flows in one day, those peers
    # being >= min_share of all peers reached that day; whitelisted sources left out.
    "fanout_scanners": Direct(
        sql=f"""
        WITH daily AS (
            SELECT f.src_ip, f.day,
                   count(DISTINCT f.dst_ip) FILTER (WHERE {FAILED}) AS failed_peers,
                   count(DISTINCT f.dst_ip) AS all_peers
            FROM f GROUP BY ALL),
        flagged AS (
            SELECT src_ip, day FROM daily f
            WHERE failed_peers >= $min_peers AND failed_peers >= $min_share * all_peers
              AND {NOT_WHITELISTED_SRC})
        SELECT f.src_ip, count(DISTINCT f.dst_ip), count(DISTINCT f.day),
               count(DISTINCT (f.proto, f.dst_port)), count(*)
        FROM f JOIN flagged USING (src_ip, day) WHERE {FAILED}
        GROUP BY f.src_ip""",  # noqa: S608 - constants only
        row=lambda r: tuple(r),
        ours=lambda f: (f.entity, f.figures["peers"], f.figures["days"], f.figures["ports"],
                        f.figures["flows"])),

    # A source probing >= min_ports distinct (proto, port) on one target in one day with
    # low-profile edge rows (TCP/UDP/SCTP with a port); members are the targets.
    "vertical_scans": Direct(
        sql=f"""
        WITH e AS ({EDGE_ROWS.replace("FROM f", f'''FROM f
            WHERE f.proto IN ('tcp', 'udp', 'sctp') AND f.dst_port IS NOT NULL
              AND {NOT_WHITELISTED_SRC}''')}),
        per_target AS (
            SELECT src_ip, dst_ip, day, count(DISTINCT (proto, dst_port)) AS ports,
                   sum(flows) AS flows, sum(failed_flows) AS failed
            FROM e WHERE {LOW} GROUP BY ALL
            HAVING count(DISTINCT (proto, dst_port)) >= $min_ports)
        SELECT src_ip, list(DISTINCT dst_ip), max(ports), sum(flows), sum(failed)
        FROM per_target GROUP BY src_ip""",  # noqa: S608 - constants only
        row=lambda r: (r[0], _ms(r[1]), r[2], r[3], r[4]),
        ours=lambda f: (f.entity, _ms(f.members), f.figures["max_ports_on_target"],
                        f.figures["flows"], f.figures["failed"])),

    # Sources with >= min_flows unanswered flows in a day, >= min_ratio of that day's flows.
    "syn_only_scans": Direct(
        sql=f"""
        WITH daily AS (
            SELECT f.src_ip, f.day FROM f WHERE {NOT_WHITELISTED_SRC} GROUP BY ALL
            HAVING count(*) FILTER (WHERE {FAILED}) >= $min_flows
               AND count(*) FILTER (WHERE {FAILED}) >= $min_ratio * count(*))
        SELECT f.src_ip, count(*), count(DISTINCT f.day), count(DISTINCT f.dst_ip),
               count(DISTINCT (f.proto, f.dst_port))
        FROM f JOIN daily USING (src_ip, day) WHERE {FAILED} GROUP BY f.src_ip""",  # noqa: S608 - constants only
        row=lambda r: tuple(r),
        ours=lambda f: (f.entity, f.figures["failed"], f.figures["days"], f.figures["targets"],
                        f.figures["ports"])),

    # Per day, (external non-whitelisted peer -> own host, port, proto): packets and bytes over
    # both directions, kept when at most max_pkts and max_bytes.
    "low_traffic": Direct(
        sql=f"""
        SELECT f.src_ip, f.dst_ip, f.day, f.dst_port, f.proto, count(*),
               sum(coalesce(f.src_pkts, 0) + coalesce(f.dst_pkts, 0)) AS pkts,
               sum(coalesce(f.src_bytes, 0) + coalesce(f.dst_bytes, 0)) AS bytes
        FROM f
        WHERE f.dst_ip IN (SELECT ip FROM h WHERE own) AND {EXTERNAL_SRC}
        GROUP BY ALL HAVING pkts <= $max_pkts AND bytes <= $max_bytes""",  # noqa: S608 - constants only
        row=lambda r: (r[0], r[1], r[2].isoformat(), r[3], r[4], r[5], r[6], r[7]),
        ours=lambda f: (f.entity, f.members[0], f.figures["day"], f.figures["port"],
                        f.figures["proto"], f.figures["flows"], f.figures["pkts"],
                        f.figures["bytes"])),

    # The low-traffic rows at the synthesis cut-offs, ranked three ways (dense rank, ties in).
    "top_scanners": Direct(
        sql=f"""
        WITH t AS (
            SELECT f.day, f.src_ip AS peer, f.dst_ip AS own_ip FROM f
            WHERE f.dst_ip IN (SELECT ip FROM h WHERE own) AND {EXTERNAL_SRC}
            GROUP BY f.day, f.src_ip, f.dst_ip, f.dst_port, f.proto
            HAVING sum(coalesce(f.src_pkts, 0) + coalesce(f.dst_pkts, 0)) <= $max_pkts
               AND sum(coalesce(f.src_bytes, 0) + coalesce(f.dst_bytes, 0)) <= $max_bytes),
        v AS (
            SELECT 'widest' AS ranking, peer AS ip, count(DISTINCT own_ip) AS value,
                   list(DISTINCT own_ip) AS members FROM t GROUP BY peer
            UNION ALL
            SELECT 'scanned', own_ip, count(DISTINCT peer), list(DISTINCT peer)
            FROM t GROUP BY own_ip
            UNION ALL
            SELECT 'active', peer, count(DISTINCT (own_ip, day)), list(DISTINCT own_ip)
            FROM t GROUP BY peer),
        r AS (SELECT *, dense_rank() OVER (PARTITION BY ranking ORDER BY value DESC) AS rank
              FROM v)
        SELECT ranking, ip, rank, value, members FROM r WHERE rank <= $top_n""",  # noqa: S608 - constants only
        row=lambda r: (r[0], r[1], r[2], r[3], _ms(r[4])),
        ours=lambda f: (f.figures["ranking"], f.entity, f.figures["rank"],
                        next(v for k, v in f.figures.items() if k not in ("ranking", "rank")),
                        _ms(f.members))),

    # External sources under every per-day threshold (fan-out, SYN-only, vertical), active on
    # >= min_days days, reaching >= min_hosts own hosts with low-profile edge rows.
    "low_and_slow": Direct(
        sql=f"""
        WITH src AS (SELECT f.* FROM f WHERE {EXTERNAL_SRC}),
        e AS ({EDGE_ROWS.replace("FROM f", "FROM src f")}),
        daily AS (
            SELECT f.src_ip, f.day,
                   count(DISTINCT f.dst_ip) FILTER (WHERE {FAILED}) AS failed_peers,
                   count(*) FILTER (WHERE {FAILED}) AS failed
            FROM src f GROUP BY ALL),
        vert AS (
            SELECT src_ip, max(n) AS ports FROM (
                SELECT src_ip, dst_ip, day, count(DISTINCT (proto, dst_port)) AS n FROM e
                WHERE dst_port IS NOT NULL AND {LOW} GROUP BY ALL) GROUP BY src_ip),
        quiet AS (
            SELECT d.src_ip FROM daily d LEFT JOIN vert v USING (src_ip) GROUP BY d.src_ip
            HAVING max(d.failed_peers) < $fanout_min_peers
               AND max(d.failed) < $syn_only_min_flows
               AND coalesce(max(v.ports), 0) < $vertical_min_ports
               AND count(DISTINCT d.day) >= $min_days)
        SELECT e.src_ip, count(DISTINCT e.dst_ip), count(DISTINCT e.day), sum(e.flows)
        FROM e JOIN quiet USING (src_ip)
        WHERE e.dst_ip IN (SELECT ip FROM h WHERE own) AND {LOW}
        GROUP BY e.src_ip HAVING count(DISTINCT e.dst_ip) >= $min_hosts""",  # noqa: S608 - constants only
        row=lambda r: tuple(r),
        ours=lambda f: (f.entity, f.figures["own_hosts"], f.figures["days_active"],
                        f.figures["flows"])),

    # Groups (prefix, DNS domain, ASN) of external low-profile sources that are not scanners
    # on their own, >= min_members members reaching >= min_hosts own hosts together.
    "coordinated_scanners": Direct(
        prepare=_group_keys,
        sql=f"""
        WITH ext AS (SELECT f.* FROM f WHERE {EXTERNAL_SRC}),
        e AS ({EDGE_ROWS.replace("FROM f", "FROM ext f")}),
        fan AS (SELECT src_ip FROM ext f WHERE {FAILED} GROUP BY src_ip, day
                HAVING count(DISTINCT dst_ip) >= $fanout_min_peers),
        vert AS (SELECT src_ip FROM e WHERE dst_port IS NOT NULL AND {LOW}
                 GROUP BY src_ip, dst_ip, day
                 HAVING count(DISTINCT (proto, dst_port)) >= $vertical_min_ports),
        syn AS (SELECT src_ip FROM ext f GROUP BY src_ip, day
                HAVING count(*) FILTER (WHERE {FAILED}) >= $syn_only_min_flows
                   AND count(*) FILTER (WHERE {FAILED}) >= $syn_only_min_ratio * count(*)),
        g AS (SELECT k.kind, k.key, e.* FROM e JOIN group_keys k ON k.ip = e.src_ip
              WHERE e.dst_ip IN (SELECT ip FROM h WHERE own) AND {LOW}
                AND e.src_ip NOT IN (SELECT src_ip FROM fan UNION SELECT src_ip FROM vert
                                     UNION SELECT src_ip FROM syn)),
        groups AS (SELECT kind, key, list(DISTINCT src_ip) AS members,
                          count(DISTINCT dst_ip) AS hosts, sum(flows) AS flows
                   FROM g GROUP BY ALL
                   HAVING count(DISTINCT src_ip) >= $min_members
                      AND count(DISTINCT dst_ip) >= $min_hosts),
        shared AS (SELECT kind, key, count(*) AS n FROM (
                       SELECT g.kind, g.key, g.dst_ip FROM g JOIN groups USING (kind, key)
                       GROUP BY ALL HAVING count(DISTINCT g.src_ip) > 1) GROUP BY ALL)
        SELECT kind, key, members, hosts, flows, coalesce(shared.n, 0)
        FROM groups LEFT JOIN shared USING (kind, key)""",  # noqa: S608 - constants only
        row=lambda r: (r[0], r[1], _ms(r[2]), r[3], r[4], r[5]),
        ours=lambda f: (f.figures["group_by"], f.entity, _ms(f.members), f.figures["hosts"],
                        f.figures["flows"], f.figures["overlap_hosts"])),

    # An external prober of >= min_probed own hosts that later has an answered, not
    # low-profile edge row with a host it probed (either direction).
    "scanner_got_in": Direct(
        sql=f"""
        WITH e AS ({EDGE_ROWS.replace("count(*) AS flows", '''count(*) AS flows,
                   sum(coalesce(f.src_bytes, 0)) AS src_bytes,
                   sum(coalesce(f.dst_bytes, 0)) AS dst_bytes''')}),
        probes AS (SELECT e.* FROM e
                   WHERE e.src_ip IN (SELECT ip FROM h WHERE NOT own
                                      AND NOT coalesce(whitelisted, false))
                     AND e.dst_ip IN (SELECT ip FROM h WHERE own) AND {LOW}),
        probers AS (SELECT src_ip FROM probes GROUP BY src_ip
                    HAVING count(DISTINCT dst_ip) >= $min_probed),
        first_probe AS (SELECT src_ip AS peer, dst_ip AS host, min(first_seen) AS t0
                        FROM probes WHERE src_ip IN (SELECT src_ip FROM probers)
                        GROUP BY ALL),
        answered AS (SELECT e.* FROM e WHERE e.failed_flows < e.flows AND NOT {LOW}),
        sessions AS (
            SELECT fp.peer, fp.host, a.flows, a.src_bytes + a.dst_bytes AS bytes
            FROM answered a JOIN first_probe fp ON a.src_ip = fp.peer AND a.dst_ip = fp.host
            WHERE a.first_seen > fp.t0
            UNION ALL
            SELECT fp.peer, fp.host, a.flows, a.src_bytes + a.dst_bytes
            FROM answered a JOIN first_probe fp ON a.src_ip = fp.host AND a.dst_ip = fp.peer
            WHERE a.first_seen > fp.t0)
        SELECT s.peer, list(DISTINCT s.host), any_value(p.probed), sum(s.flows), sum(s.bytes)
        FROM sessions s JOIN (SELECT peer, count(DISTINCT host) AS probed FROM first_probe
                              GROUP BY peer) p USING (peer)
        GROUP BY s.peer""",  # noqa: S608 - constants only
        row=lambda r: (r[0], _ms(r[1]), r[2], r[3], r[4]),
        ours=lambda f: (f.entity, _ms(f.members), f.figures["probed_hosts"],
                        f.figures["session_flows"], f.figures["session_bytes"])),

    # Per own host, daily bytes received from external peers; the top day >= min_bytes and
    # >= factor x the second day and x the same weekday of earlier weeks. Members: the top_n
    # senders of the peak day.
    "ingress_peaks": Direct(
        sql="""
        WITH i AS (
            SELECT f.dst_ip AS host, f.src_ip AS peer, f.day, coalesce(f.src_bytes, 0) AS bytes
            FROM f WHERE f.dst_ip IN (SELECT ip FROM h WHERE own)
                     AND f.src_ip IN (SELECT ip FROM h WHERE NOT own)
            UNION ALL
            SELECT f.src_ip, f.dst_ip, f.day, coalesce(f.dst_bytes, 0)
            FROM f WHERE f.src_ip IN (SELECT ip FROM h WHERE own)
                     AND f.dst_ip IN (SELECT ip FROM h WHERE NOT own)),
        d AS (SELECT host, day, sum(bytes) AS bytes FROM i GROUP BY ALL),
        ranked AS (SELECT *, row_number() OVER (PARTITION BY host ORDER BY bytes DESC, day)
                             AS n FROM d),
        peak AS (SELECT host, day, bytes AS top FROM ranked WHERE n = 1 AND bytes >= $min_bytes),
        second AS (SELECT host, bytes AS second FROM ranked WHERE n = 2),
        weekly AS (SELECT p.host, max(d.bytes) AS weekly FROM peak p JOIN d USING (host)
                   WHERE d.day < p.day AND (p.day - d.day) % 7 = 0 GROUP BY p.host),
        flagged AS (
            SELECT p.*, coalesce(s.second, 0) AS second FROM peak p
            LEFT JOIN second s USING (host) LEFT JOIN weekly w USING (host)
            WHERE (coalesce(s.second, 0) = 0 OR p.top >= $factor * s.second)
              AND (coalesce(w.weekly, 0) = 0 OR p.top >= $factor * w.weekly)),
        senders AS (
            SELECT i.host, i.peer, sum(i.bytes) AS bytes FROM i JOIN flagged p
              ON p.host = i.host AND p.day = i.day GROUP BY ALL)
        SELECT p.host, p.day, p.top, p.second,
               (SELECT list(peer ORDER BY bytes DESC, peer)[1:$top_n] FROM senders s
                WHERE s.host = p.host)
        FROM flagged p""",
        row=lambda r: (r[0], r[1].isoformat(), r[2], r[3], _ms(r[4])),
        ours=lambda f: (f.entity, f.figures["day"], f.figures["top"], f.figures["second"],
                        _ms(f.members))),

    # HVAs with external peers (either direction) first seen in the last `window` days of the
    # data and never before; with their peer counts over the whole period.
    "hva_neighbourhood": Direct(
        sql="""
        WITH c AS (
            SELECT f.dst_ip AS hva, f.src_ip AS peer, f.day FROM f
            WHERE f.dst_ip IN (SELECT ip FROM h WHERE hva)
            UNION ALL
            SELECT f.src_ip, f.dst_ip, f.day FROM f WHERE f.src_ip IN (SELECT ip FROM h WHERE hva)),
        cp AS (SELECT c.*, coalesce(h.own, false) AS peer_own
               FROM c LEFT JOIN h ON h.ip = c.peer),
        new AS (SELECT hva, peer FROM cp WHERE NOT peer_own GROUP BY ALL
                HAVING min(day) > (SELECT max(day) FROM f) - CAST($window AS INTEGER)),
        summary AS (SELECT hva, count(DISTINCT peer) AS peers,
                           count(DISTINCT peer) FILTER (WHERE peer_own) AS internal,
                           count(DISTINCT peer) FILTER (WHERE NOT peer_own) AS external
                    FROM cp GROUP BY hva)
        SELECT n.hva, list(n.peer), any_value(s.peers), any_value(s.internal),
               any_value(s.external)
        FROM new n JOIN summary s USING (hva) GROUP BY n.hva""",
        row=lambda r: (r[0], _ms(r[1]), r[2], r[3], r[4]),
        ours=lambda f: (f.entity, _ms(f.members), f.figures["peers"],
                        f.figures["internal_peers"], f.figures["external_peers"])),

    # Flow keys against the inventory: the originator's outbound and the responder's inbound
    # port rules (merged with the defaults; answered flows only), traffic between own hosts and
    # non-routable external addresses, own addresses outside every declared range. One row
    # per (rule kind, host at fault): peers and flows.
    "policy_violations": Direct(
        prepare=_policy_tables,
        sql=f"""
        WITH k AS (
            SELECT f.src_ip, f.dst_ip, f.proto, coalesce(f.dst_port, -1) AS port,
                   NOT {FAILED} AS established, count(*) AS flows
            FROM f GROUP BY ALL),
        kx AS (SELECT k.*, s.own AS s_own, s.role AS s_role, s.in_ranges AS s_in,
                      s.bogon AS s_bogon, d.own AS d_own, d.role AS d_role,
                      d.in_ranges AS d_in, d.bogon AS d_bogon
               FROM k JOIN hx s ON s.ip = k.src_ip JOIN hx d ON d.ip = k.dst_ip),
        chk AS (  -- the answered keys whose policy declares the direction
            SELECT kx.*, 'outbound' AS direction, s_role AS subject, d_own AS o_own,
                   d_role AS o_role, src_ip AS host, dst_ip AS peer
            FROM kx JOIN declared ON declared.subject = kx.s_role
                                 AND declared.direction = 'outbound' WHERE established
            UNION ALL
            SELECT kx.*, 'inbound', d_role, s_own, s_role, src_ip, dst_ip
            FROM kx JOIN declared ON declared.subject = kx.d_role
                                 AND declared.direction = 'inbound' WHERE established),
        allowed AS (
            SELECT DISTINCT c.src_ip, c.dst_ip, c.proto, c.port, c.direction
            FROM chk c JOIN rules r ON r.subject = c.subject AND r.direction = c.direction
            WHERE (r.proto IS NULL
                   OR (r.proto = 'icmp' AND c.proto IN ('icmp', 'icmp6', 'ipv6-icmp', 'icmpv6'))
                   OR (r.proto = c.proto AND (r.lo IS NULL OR c.port BETWEEN r.lo AND r.hi)))
              AND (r.peer = 'any' OR (r.peer = 'internal' AND c.o_own)
                   OR (r.peer = 'external' AND NOT c.o_own) OR r.peer = 'role:' || c.o_role)),
        v AS (
            SELECT c.direction AS kind, c.host, c.peer, c.flows FROM chk c
            ANTI JOIN allowed USING (src_ip, dst_ip, proto, port, direction)
            UNION ALL
            SELECT 'non_routable', src_ip, dst_ip, flows FROM kx
            WHERE s_own AND NOT d_own AND d_bogon
            UNION ALL
            SELECT 'non_routable', dst_ip, src_ip, flows FROM kx
            WHERE d_own AND NOT s_own AND s_bogon
            UNION ALL
            SELECT 'outside_ranges', src_ip, dst_ip, flows FROM kx WHERE s_own AND NOT s_in
            UNION ALL
            SELECT 'outside_ranges', dst_ip, src_ip, flows FROM kx WHERE d_own AND NOT d_in)
        SELECT kind, host, list(DISTINCT peer), sum(flows) FROM v GROUP BY ALL""",  # noqa: S608 - constants only
        row=lambda r: (r[0], r[1], _ms(r[2]), r[3]),
        ours=lambda f: (f.figures["kind"], f.entity, _ms(f.members), f.figures["flows"])),

    # Over the last window_days days (and the window before): bytes out / in per host,
    # outbound bytes and connections of own hosts to external peers; whitelisted sources
    # left out; dense rank, top_n, with the previous window's value.
    "top_talkers": Direct(
        sql="""
        WITH b AS (SELECT max(day) AS last FROM f),
        x AS (SELECT f.src_ip, f.dst_ip, coalesce(f.src_bytes, 0) AS sb,
                     coalesce(f.dst_bytes, 0) AS db, s.own AS s_own, d.own AS d_own,
                     f.day > b.last - CAST($window_days AS INTEGER) AS cur
              FROM f CROSS JOIN b JOIN h s ON s.ip = f.src_ip JOIN h d ON d.ip = f.dst_ip
              WHERE f.day > b.last - 2 * CAST($window_days AS INTEGER)
                AND NOT coalesce(s.whitelisted, false)),
        v AS (
            SELECT 'bytes_out' AS ranking, src_ip AS ip, cur, sum(sb) AS value FROM x
            GROUP BY ALL
            UNION ALL SELECT 'bytes_in', dst_ip, cur, sum(sb) FROM x GROUP BY ALL
            UNION ALL SELECT 'outbound_bytes', src_ip, cur, sum(sb + db) FROM x
            WHERE s_own AND NOT d_own GROUP BY ALL
            UNION ALL SELECT 'outbound_flows', src_ip, cur, count(*) FROM x
            WHERE s_own AND NOT d_own GROUP BY ALL),
        r AS (SELECT ranking, ip, value,
                     dense_rank() OVER (PARTITION BY ranking ORDER BY value DESC) AS rank
              FROM v WHERE cur)
        SELECT r.ranking, r.ip, r.rank, r.value, coalesce(p.value, 0) FROM r
        LEFT JOIN v p ON p.ranking = r.ranking AND p.ip = r.ip AND NOT p.cur
        WHERE r.rank <= $top_n""",
        row=lambda r: tuple(r),
        ours=lambda f: (f.figures["ranking"], f.entity, f.figures["rank"], f.figures["value"],
                        f.figures["previous"])),
}


def _direct(name: str, ws: Any, params: dict[str, Any]) -> set[tuple[Any, ...]]:
    """Answer ``name`` directly over the flow Parquet (fresh connection, timed by the caller)."""
    import re

    d = DIRECT[name]
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET memory_limit = '1GB'")  # as graphflow.db.connect
    con.execute("CREATE VIEW f AS SELECT * FROM read_parquet($p, hive_partitioning = true, "
                "hive_types = {'day': DATE})".replace("$p", _sql_list(ws.flow_files())))
    con.execute("CREATE VIEW h AS SELECT * FROM read_parquet($p)".replace(
        "$p", _sql_list(sorted((ws.version_dir / "hosts").glob("*.parquet")))))
    if d.prepare:
        d.prepare(con, ws, params)
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", d.sql))
    rows = con.execute(d.sql, {k: v for k, v in params.items() if k in names}).fetchall()
    con.close()
    return {d.row(r) for r in rows}


def _sql_list(paths: list[Path]) -> str:
    # workspace paths, quoted as SQL literals (views take no parameters)
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from graphflow.analyses import REGISTRY, analysis_params
    from graphflow.analyses.context import open_context
    from graphflow.hosts import enrich
    from graphflow.ingestion import ingest_files
    from graphflow.workspace import Workspace

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="1000000")
    ap.add_argument("--reuse", action="store_true",
                    help="keep bench/out/ws-analyses-N when it exists (no re-ingest)")
    ap.add_argument("--only", default="", help="comma-separated analysis names")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each side this many times and keep the best (shared machine)")
    args = ap.parse_args()
    missing = set(REGISTRY) - set(DIRECT)
    if missing:
        sys.exit(f"no direct DuckDB SQL for {sorted(missing)}")
    names = [n for n in REGISTRY if not args.only or n in args.only.split(",")]
    results = []
    for size in [int(float(s)) for s in args.sizes.split(",")]:
        gen = OUT / f"conn-{size}"
        if not (gen / "conn.log").exists():
            sys.exit(f"run bench/ingest_bench.py --sizes {size} first")
        ws_dir = OUT / f"ws-analyses-{size}"
        timing: dict[str, Any] = {"flows_generated": size}
        if not (args.reuse and (ws_dir / "current").exists()):
            shutil.rmtree(ws_dir, ignore_errors=True)
            ws = Workspace.open(ws_dir)
            t0 = time.perf_counter()
            rep = ingest_files([gen / "conn.log"], ws)
            timing["ingest_incl_edges_s"] = round(time.perf_counter() - t0, 2)
            timing["edges_build_s"] = rep.timings.get("edges")
            t0 = time.perf_counter()
            enrich(ws, assets=str(gen / "assets.json"), whitelist=str(gen / "whitelist.txt"),
                   names=(str(gen / "names.csv"),), default_city_db=False)
            timing["enrich_s"] = round(time.perf_counter() - t0, 2)
            print(f"{size:>11,} flows  ingest {timing['ingest_incl_edges_s']:.1f} s (of which "
                  f"edges build {timing['edges_build_s']} s), enrich {timing['enrich_s']:.1f} s",
                  flush=True)
        ws = Workspace.open(ws_dir)
        reset = _reset_peak_rss()
        print(f"{'flows':>11}  {'analysis':<22} {'ours s':>7} {'duckdb s':>8} {'ratio':>6} "
              f"{'findings':>8}", flush=True)
        total_ours = total_ref = 0.0
        per: list[dict[str, Any]] = []
        for name in names:
            params = analysis_params(name)
            ours = ref = float("inf")
            for _ in range(max(1, args.repeat)):  # alternate the two sides
                t0 = time.perf_counter()
                with open_context(ws) as ctx:
                    found = REGISTRY[name].run(ctx, params)
                ours = min(ours, time.perf_counter() - t0)
                t0 = time.perf_counter()
                ref_set = _direct(name, ws, params)
                ref = min(ref, time.perf_counter() - t0)
            ours_set = {DIRECT[name].ours(f) for f in found}
            if ours_set != ref_set:
                sys.exit(f"{name}: results differ\n  only ours: {sorted(ours_set - ref_set)[:5]}"
                         f"\n  only direct: {sorted(ref_set - ours_set)[:5]}")
            total_ours += ours
            total_ref += ref
            per.append({"analysis": name, "ours_s": round(ours, 3), "duckdb_s": round(ref, 3),
                        "ratio": round(ours / ref, 2), "findings": len(found),
                        "compared_rows": len(ref_set)})
            print(f"{size:>11,}  {name:<22} {ours:7.2f} {ref:8.2f} {ours / ref:6.2f} "
                  f"{len(found):>8}", flush=True)
        rss = _peak_rss_mib()
        print(f"{size:>11,}  all analyses: ours {total_ours:.1f} s, DuckDB direct "
              f"{total_ref:.1f} s; peak RSS {rss:.0f} MiB"
              f"{'' if reset else ' (includes ingest)'}", flush=True)
        results.append({**timing, "analyses": per, "total_ours_s": round(total_ours, 2),
                        "total_duckdb_s": round(total_ref, 2), "peak_rss_mib": round(rss),
                        "peak_rss_analyses_only": reset})
    doc = {"machine": f"{platform.machine()}, 2 cores shared, Python "
                      f"{platform.python_version()}, DuckDB {duckdb.__version__}",
           "repeat": args.repeat, "results": results}
    (OUT / "analyses.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
