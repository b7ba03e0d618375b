"""Asset policy checks: traffic against the inventory's per-direction port/peer/country
policies, traffic with non-routable (bogon) networks, and own hosts outside the declared
DHCP and static ranges.

Each distinct (source, destination, protocol, port) of the edge model is checked against the
inventory's policies, with the semantics of :class:`graphflow.assets.PolicyEngine`: port and
country rules apply to answered flows (unanswered attempts belong to the scan analyses), the
bogon and range rules to every flow. One finding per (rule kind, host at fault): members are
the peers, figures the flows, ports and the rule (the first rule, in text order, when several
policies are broken under one kind). Without an inventory there is nothing to check.

The check is set-based: the inventory becomes three small tables (:func:`policy_model`): per
address its governing policy, the peer specifications it satisfies (``peer_tags``), whether
it is an external non-routable address (``bogon``) or an own address outside every declared
range (``outside_ranges``); the policies; and their port rules (defaults merged in). DuckDB
joins the edges against them here; the Neo4j loader writes the same tables as Host
properties and ``(:Policy)``/``(:PolicyRule)`` nodes, which ``cypher/policy_violations.cypher``
(the Cypher twin) joins in the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from graphflow.analyses.base import Analysis, Finding, finding_id
from graphflow.analyses.common import edge_keys
from graphflow.analyses.context import Context
from graphflow.query import ip_sort_key

if TYPE_CHECKING:
    from graphflow.assets import Inventory, Policy

__all__ = ["ANALYSIS", "ICMP_PROTOS", "PolicyModel", "order", "policy_model", "run"]

NAME = "policy_violations"
_PORT_KINDS = {"outbound", "inbound", "country_outbound", "country_inbound"}
#: Protocol names a rule for ``icmp`` matches (as :class:`graphflow.assets.PortSpec` does).
ICMP_PROTOS = ("icmp", "icmp6", "ipv6-icmp", "icmpv6")
_DIRECTIONS = ("inbound", "outbound")


@dataclass(frozen=True)
class PolicyModel:
    """The inventory's policies as tables (see the module doc).

    ``hosts``: ip, policy (key or null), peer_tags (list), bogon, outside_ranges.
    ``policies``: key, subject and per direction (``in_``/``out_``): constrained (the policy
    has port rules for it), rule (its description), countries (it has country rules),
    allow (list or null: every country allowed), deny (list).
    ``rules``: policy, direction, proto ('*' any, 'icmp', or a protocol), low, high (-1: any
    port), peer (a peer specification's text, matched against ``peer_tags``).
    """

    hosts: pa.Table
    policies: pa.Table
    rules: pa.Table


def policy_model(inv: Inventory, ips: Sequence[str]) -> PolicyModel:
    """The policy tables of ``inv`` for the addresses ``ips`` (vectorised per address)."""
    from graphflow.ipsets import IPSet, parse_addrs, parse_network

    engine = inv.policy_engine()
    addrs = parse_addrs(list(ips))
    cls = inv.classify(addrs)
    own = np.asarray(cls["own"].to_numpy(zero_copy_only=False), dtype=bool)
    in_ranges = np.asarray(cls["in_ranges"].to_numpy(zero_copy_only=False), dtype=bool)
    roles: list[str | None] = cls["role"].to_pylist()
    asset_idx = inv._asset_map().lookup(addrs)
    # one policy per distinct (asset, role) of own addresses, resolved by Inventory.policy_of
    keys: dict[Policy, str] = {}
    host_policy: list[str | None] = [None] * len(ips)
    resolved: dict[tuple[int, str | None], str | None] = {}
    for i in np.flatnonzero(own).tolist():
        k = (int(asset_idx[i]), roles[i])
        if k not in resolved:
            pol = inv.policy_of(ips[i])
            resolved[k] = None if pol is None else keys.setdefault(pol, f"p{len(keys)}")
        host_policy[i] = resolved[k]
    # every peer specification a rule names, and which addresses satisfy it
    defaults = inv.defaults
    every = list(keys) + ([defaults] if defaults is not None else [])
    specs = {peer for pol in every for d in _DIRECTIONS
             for rule in pol.direction(d).rules or () for peer in rule.peers}
    masks: list[tuple[str, np.ndarray]] = []
    for peer in sorted(specs, key=lambda p: p.text):
        if peer.kind in ("keyword", "role"):
            continue  # from own and role below
        if peer.kind == "cidr":
            net: IPSet | None = IPSet([parse_network(peer.value)])
        elif peer.kind == "set":
            net = engine.sets.get(peer.value)
        elif peer.kind == "asset":
            a = engine._assets_by_name.get(peer.value)
            net = IPSet([a]) if a is not None else None
        else:
            net = None  # matches nothing, as in PolicyEngine
        if net is not None:
            masks.append((peer.text, net.contains(addrs)))
    tags: list[list[str]] = []
    for i in range(len(ips)):
        t = ["any", "internal" if own[i] else "external"]
        if own[i] and roles[i]:
            t.append(f"role:{roles[i]}")
        t.extend(text for text, m in masks if m[i])
        tags.append(t)
    bogon = ~own & inv.non_routable.contains(addrs)
    hosts = pa.table({
        "ip": pa.array(list(ips), pa.string()),
        "policy": pa.array(host_policy, pa.string()),
        "peer_tags": pa.array(tags, pa.list_(pa.string())),
        "bogon": pa.array(bogon, pa.bool_()),
        "outside_ranges": pa.array(own & ~in_ranges, pa.bool_()),
    })
    pols: dict[str, list[Any]] = {"key": [], "subject": []}
    rules: dict[str, list[Any]] = {k: [] for k in ("policy", "direction", "proto", "low",
                                                   "high", "peer")}
    for pol, key in keys.items():
        pols["key"].append(key)
        pols["subject"].append(pol.subject)
        for d in _DIRECTIONS:
            p = {"inbound": "in", "outbound": "out"}[d]
            dp = pol.direction(d)
            c = dp.countries
            for col, val in ((f"{p}_constrained", dp.rules is not None),
                             (f"{p}_rule", engine._describe(pol, d)),
                             (f"{p}_countries", c is not None),
                             (f"{p}_allow", sorted(c.allow) if c and c.allow is not None
                              else None),
                             (f"{p}_deny", sorted(c.deny) if c else [])):
                pols.setdefault(col, []).append(val)
            if dp.rules is None:
                continue
            merged = list(dp.rules) + list(
                (defaults.direction(d).rules or ()) if defaults is not None else ())
            for rule in merged:
                spec = rule.port
                for peer in rule.peers:
                    rules["policy"].append(key)
                    rules["direction"].append(d)
                    rules["proto"].append(spec.proto or "*")
                    rules["low"].append(-1 if spec.low is None else spec.low)
                    rules["high"].append(-1 if spec.low is None else (spec.high or spec.low))
                    rules["peer"].append(peer.text)
    list_cols = {"in_allow", "out_allow", "in_deny", "out_deny"}
    policies = pa.table({k: pa.array(v, pa.list_(pa.string()) if k in list_cols else
                                     pa.bool_() if k.endswith(("_constrained", "_countries"))
                                     else pa.string())
                         for k, v in pols.items()} if keys else _empty_policies())
    return PolicyModel(hosts=hosts, policies=policies, rules=pa.table({
        k: pa.array(v, pa.int64() if k in ("low", "high") else pa.string())
        for k, v in rules.items()}))


def _empty_policies() -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {"key": pa.array([], pa.string()),
                                "subject": pa.array([], pa.string())}
    for p in ("in", "out"):
        out[f"{p}_constrained"] = pa.array([], pa.bool_())
        out[f"{p}_rule"] = pa.array([], pa.string())
        out[f"{p}_countries"] = pa.array([], pa.bool_())
        out[f"{p}_allow"] = pa.array([], pa.list_(pa.string()))
        out[f"{p}_deny"] = pa.array([], pa.list_(pa.string()))
    return out


#: Does rule ``r`` match the edge group's protocol and port (PortSpec.matches, in SQL)?
_MATCH = ("(r.proto = '*' OR (r.proto = 'icmp' AND list_contains($icmp, k.proto)) "
          "OR (r.proto = k.proto AND (r.low = -1 OR (k.dst_port IS NOT NULL "
          "AND k.dst_port BETWEEN r.low AND r.high))))")

#: Every violation: (kind, host, peer, proto, dst_port, flows, subject, rule).
_VIOLATIONS = f"""
    WITH g AS (
        SELECT src_ip, dst_ip, proto, dst_port,
               sum(flows - failed_flows)::BIGINT AS answered, sum(flows)::BIGINT AS total
        FROM edges GROUP BY ALL),
    k AS (
        SELECT g.*, s.policy AS s_pol, d.policy AS d_pol, s.peer_tags AS s_tags,
               d.peer_tags AS d_tags, s.bogon AS s_bogon, d.bogon AS d_bogon,
               s.outside_ranges AS s_out, d.outside_ranges AS d_out,
               hs.country AS s_cc, hd.country AS d_cc
        FROM g JOIN pv_hosts s ON s.ip = g.src_ip JOIN pv_hosts d ON d.ip = g.dst_ip
        LEFT JOIN hosts hs ON hs.ip = g.src_ip LEFT JOIN hosts hd ON hd.ip = g.dst_ip),
    v AS (
        SELECT 'outbound' AS kind, src_ip AS host, dst_ip AS peer, proto, dst_port,
               answered AS flows, p.subject, p.out_rule AS rule
        FROM k JOIN pv_policies p ON p.key = k.s_pol
        WHERE answered > 0 AND p.out_constrained AND NOT EXISTS (
            SELECT 1 FROM pv_rules r WHERE r.policy = k.s_pol AND r.direction = 'outbound'
            AND list_contains(k.d_tags, r.peer) AND {_MATCH})
        UNION ALL
        SELECT 'inbound', src_ip, dst_ip, proto, dst_port, answered, p.subject, p.in_rule
        FROM k JOIN pv_policies p ON p.key = k.d_pol
        WHERE answered > 0 AND p.in_constrained AND NOT EXISTS (
            SELECT 1 FROM pv_rules r WHERE r.policy = k.d_pol AND r.direction = 'inbound'
            AND list_contains(k.s_tags, r.peer) AND {_MATCH})
        UNION ALL
        SELECT 'country_outbound', src_ip, dst_ip, proto, dst_port, answered, p.subject,
               p.subject || ' outbound: peer country ' || k.d_cc || ' not permitted'
        FROM k JOIN pv_policies p ON p.key = k.s_pol
        WHERE answered > 0 AND p.out_countries AND k.d_cc IS NOT NULL
          AND (list_contains(p.out_deny, k.d_cc)
               OR (p.out_allow IS NOT NULL AND NOT list_contains(p.out_allow, k.d_cc)))
        UNION ALL
        SELECT 'country_inbound', src_ip, dst_ip, proto, dst_port, answered, p.subject,
               p.subject || ' inbound: peer country ' || k.s_cc || ' not permitted'
        FROM k JOIN pv_policies p ON p.key = k.d_pol
        WHERE answered > 0 AND p.in_countries AND k.s_cc IS NOT NULL
          AND (list_contains(p.in_deny, k.s_cc)
               OR (p.in_allow IS NOT NULL AND NOT list_contains(p.in_allow, k.s_cc)))
        UNION ALL
        SELECT 'non_routable', src_ip, dst_ip, proto, dst_port, total, 'non_routable', $bogon
        FROM k WHERE list_contains(s_tags, 'internal') AND d_bogon
        UNION ALL
        SELECT 'non_routable', dst_ip, src_ip, proto, dst_port, total, 'non_routable', $bogon
        FROM k WHERE list_contains(d_tags, 'internal') AND s_bogon
        UNION ALL
        SELECT 'outside_ranges', src_ip, dst_ip, proto, dst_port, total, 'ranges', $ranges
        FROM k WHERE s_out
        UNION ALL
        SELECT 'outside_ranges', dst_ip, src_ip, proto, dst_port, total, 'ranges', $ranges
        FROM k WHERE d_out)
"""

#: The fixed rule texts of the bogon and range checks (as PolicyEngine words them).
BOGON_RULE = "no traffic with non-routable (bogon) addresses"
RANGES_RULE = "own address outside every declared DHCP/static range"


def run(ctx: Context, p: dict[str, Any]) -> list[Finding]:
    from graphflow.assets import load_inventory

    inv = load_inventory(ctx.ws)
    if inv is None:
        return []
    ips = [r[0] for r in ctx.execute(
        "SELECT src_ip FROM edges UNION SELECT dst_ip FROM edges").fetchall()]
    model = policy_model(inv, ips)
    ctx.con.register("pv_hosts", model.hosts)
    ctx.con.register("pv_policies", model.policies)
    ctx.con.register("pv_rules", model.rules)
    q = _constants(p)
    v = ctx.temp_table("policy_violations_v", _VIOLATIONS + "SELECT * FROM v", q)
    found = ctx.rows(f"""
        SELECT kind, host, sum(flows)::BIGINT AS flows, min(rule) AS rule,
               arg_min(subject, rule) AS subject, list(DISTINCT peer) AS peers,
               list(DISTINCT CASE WHEN dst_port IS NULL THEN proto
                                  ELSE proto || '/' || CAST(dst_port AS VARCHAR) END) AS ports
        FROM {v} GROUP BY kind, host
    """)
    keys = edge_keys(ctx, f"""
        WITH vk AS (SELECT DISTINCT kind, host, peer, proto, dst_port FROM {v})
        SELECT DISTINCT vk.kind || ' ' || vk.host, e.day, e.src_ip, e.dst_ip, e.dst_port,
               e.proto
        FROM vk JOIN edges e ON e.src_ip = vk.host AND e.dst_ip = vk.peer
             AND e.proto = vk.proto AND e.dst_port IS NOT DISTINCT FROM vk.dst_port
        UNION
        SELECT DISTINCT vk.kind || ' ' || vk.host, e.day, e.src_ip, e.dst_ip, e.dst_port,
               e.proto
        FROM vk JOIN edges e ON e.src_ip = vk.peer AND e.dst_ip = vk.host
             AND e.proto = vk.proto AND e.dst_port IS NOT DISTINCT FROM vk.dst_port
    """, {})
    findings = []
    for f in found:
        kind, host = f["kind"], f["host"]
        peers = sorted(f["peers"], key=ip_sort_key)
        figures = {"kind": kind, "rule": f["rule"], "subject": f["subject"],
                   "flows": int(f["flows"]), "peers": peers, "ports": sorted(f["ports"])}
        findings.append(Finding(
            id=finding_id(NAME, host, {"kind": kind}, p), analysis=NAME, entity=host,
            members=peers, figures=figures,
            evidence={"fired": {"rule": f["rule"]}, "params": p},
            drill={"edges": keys.get(f"{kind} {host}", []),
                   "flow_filter": "answered" if kind in _PORT_KINDS else None}))
    return sorted(findings, key=order)


def _constants(p: dict[str, Any]) -> dict[str, Any]:
    """The query's constants (both backends): icmp protocol names, the fixed rule texts."""
    return {"icmp": list(ICMP_PROTOS), "bogon": BOGON_RULE, "ranges": RANGES_RULE}


def order(f: Finding) -> tuple[Any, ...]:
    """Findings by host (numerically), then rule kind."""
    return (ip_sort_key(f.entity), f.figures["kind"])


ANALYSIS = Analysis(
    name=NAME,
    summary="Flows against the inventory's policies, bogon peers, own hosts outside ranges.",
    explain=(__doc__ or "").strip(),
    params=(),
    run=run,
    cypher="policy_violations.cypher",
    order=order,
    cypher_params=_constants,
)
