"""Turn plants and the audit of the written flows into the ground truth.

Figures are measured by :class:`~graphflow.synth.audit.Audit` on every written flow, so
background traffic that happens to touch a planted entity is counted too. A planted attacker
that also crosses another analysis' thresholds gets an extra positive (``planted_as`` names
the scenario). Crossings nobody planted, and plants that did not come out as intended, are
listed under ``audit``; both lists are empty for a sound dataset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphflow.synth.audit import DEFINITIONS, Audit
from graphflow.synth.background import day_start_us
from graphflow.synth.flows import PROTO, STATE, FlowBatch
from graphflow.synth.model import GroundTruth, Lookalike, NearMiss, Positive
from graphflow.synth.network import World
from graphflow.synth.plants import Plant

__all__ = ["AUDITED", "build_truth"]

#: Analyses whose thresholds the audit can evaluate on every address.
AUDITED = ("fanout_scanners", "vertical_scans", "syn_only_scans", "low_and_slow",
           "coordinated_scanners", "ingress_peaks")

Figures = dict[str, Any]


def _ip(w: World, i: int) -> str:
    return w.addr(i)


def _entity(w: World, p: Plant) -> str:
    return p.entity if isinstance(p.entity, str) else _ip(w, p.entity)


def _days(a: Audit, flows: list[FlowBatch], day0: int) -> list[str]:
    if not flows:
        return []
    ts = np.concatenate([b.ts for b in flows])
    return [a.dates[int(d)] for d in np.unique((ts - day0) // 86_400_000_000)]


def _best_day(a: Audit, matrix: np.ndarray[Any, Any], ip: int) -> int:
    return int(np.argmax(matrix[:, ip]))


def fanout_fig(a: Audit, ip: int) -> Figures:
    d = _best_day(a, a.peers, ip)
    return {"peers_per_day": a.per_day(a.peers, ip), "day": a.dates[d],
            "peers": int(a.peers[d, ip]), "peers_on_one_port": int(a.peers_port[d, ip]),
            "failed": int(a.failed[d, ip]), "flows": int(a.flows[d, ip])}


def vertical_fig(a: Audit, ip: int, target: int | None) -> Figures:
    d = _best_day(a, a.max_ports, ip)
    fig: Figures = {"day": a.dates[d], "ports_on_target": int(a.max_ports[d, ip]),
                    "failed": int(a.failed[d, ip]), "flows": int(a.flows[d, ip])}
    if target is not None:
        ports = {int(p) for day, b in a.flows_of(ip) if day == d
                 for p in b.dport[(b.src == ip) & (b.dst == target) & (b.proto != PROTO["icmp"])]}
        fig["target"] = a.addrs[target]
        fig["ports_on_this_target"] = len(ports)
    return fig


def syn_fig(a: Audit, ip: int) -> Figures:
    d = _best_day(a, a.failed, ip)
    f, n = int(a.failed[d, ip]), int(a.flows[d, ip])
    return {"day": a.dates[d], "failed": f, "flows": n, "ratio": round(f / n, 4) if n else 0.0,
            "failed_per_day": a.per_day(a.failed, ip)}


def low_slow_fig(a: Audit, ip: int) -> Figures:
    return {"days_active": int(a.days_active[ip]), "own_hosts": int(a.own_hosts[ip]),
            "peers_per_day": a.per_day(a.peers, ip),
            "max_peers_per_day": int(a.peers[:, ip].max()),
            "max_failed_per_day": int(a.failed[:, ip].max())}


def coordinated_fig(a: Audit, members: list[int]) -> Figures:
    active = [m for m in members if a.hosts_of(m, low_only=True)]
    return {"members": len(active), "hosts": a.group_hosts(members),
            "per_member": {a.addrs[m]: {"own_hosts": a.hosts_of(m, low_only=True),
                                        "max_peers_per_day": int(a.peers[:, m].max()),
                                        "max_failed_per_day": int(a.failed[:, m].max()),
                                        "days_active": int(a.days_active[m])}
                           for m in members}}


def ingress_fig(a: Audit, ip: int) -> Figures:
    top, second, ratio = a.ingress_ratio(ip)
    d = _best_day(a, a.ingress, ip)
    senders: dict[str, int] = {}
    for day, b in a.flows_of(ip):
        if day != d:
            continue
        out = (b.src == ip) & ~a.own[b.dst]
        inn = (b.dst == ip) & ~a.own[b.src]
        for peer, v in zip(b.dst[out].tolist(), b.resp_ip_bytes[out].tolist(), strict=True):
            senders[a.addrs[peer]] = senders.get(a.addrs[peer], 0) + v
        for peer, v in zip(b.src[inn].tolist(), b.orig_ip_bytes[inn].tolist(), strict=True):
            senders[a.addrs[peer]] = senders.get(a.addrs[peer], 0) + v
    top_senders = sorted(senders.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return {"ingress_per_day": a.per_day(a.ingress, ip), "day": a.dates[d], "top": top,
            "second": second, "ratio": round(ratio, 4),
            "top_senders": [{"ip": k, "bytes": v} for k, v in top_senders]}


def hva_fig(a: Audit, w: World, facts: Figures) -> Figures:
    hvas = facts["hvas"]
    week1: dict[int, set[int]] = {h: set() for h in hvas}
    week2: dict[int, dict[int, int]] = {h: {} for h in hvas}
    for d, h, p in sorted(a.hva_ext):
        if d < 7:
            week1[h].add(p)
        else:
            week2[h].setdefault(p, d)
    out: Figures = {"hvas": [a.addrs[h] for h in hvas], "external_peers": {}}
    for h in hvas:
        new = {a.addrs[p]: a.dates[d] for p, d in week2[h].items() if p not in week1[h]}
        out["external_peers"][a.addrs[h]] = {
            "week1": sorted(a.addrs[p] for p in week1[h]),
            "week2": sorted(a.addrs[p] for p in week2[h]), "new_in_week2": new}
    return out


def got_in_fig(a: Audit, ip: int, target: int) -> Figures:
    probe_hosts: dict[str, set[int]] = {}
    session: Figures = {}
    for d, b in a.flows_of(ip):
        mine = b.src == ip
        small = mine & ((b.orig_pkts + b.resp_pkts) <= a.t.scanner_max_pkts) & (
            (b.orig_ip_bytes + b.resp_ip_bytes) <= a.t.scanner_max_bytes)
        if small.any():
            probe_hosts.setdefault(a.dates[d], set()).update(b.dst[small].tolist())
        big = mine & (b.dst == target) & (b.state == STATE["SF"]) & ~small
        for k in np.nonzero(big)[0]:
            if int(b.resp_ip_bytes[k]) > session.get("resp_ip_bytes", -1):
                session = {"day": a.dates[d], "orig_ip_bytes": int(b.orig_ip_bytes[k]),
                           "resp_ip_bytes": int(b.resp_ip_bytes[k]),
                           "orig_bytes": int(b.orig_bytes[k]), "resp_bytes": int(b.resp_bytes[k]),
                           "duration_s": round(int(b.duration[k]) / 1e6, 3)}
    first = min(probe_hosts) if probe_hosts else ""
    return {"probe_day": first,
            "probed_hosts": sorted(a.addrs[h] for h in probe_hosts.get(first, set())),
            "target_probed": target in probe_hosts.get(first, set()), "session": session,
            "max_peers_per_day": int(a.peers[:, ip].max())}


def figures(a: Audit, w: World, analysis: str, p: Plant) -> Figures:
    """The figures of ``p`` as ``analysis`` sees them, measured on the written flows."""
    e = p.entity
    facts = {k: v for k, v in p.facts.items() if k not in ("hvas", "baseline_peers", "first_seen")}
    if analysis == "coordinated_scanners":
        return {**coordinated_fig(a, p.members), **facts}
    if analysis == "hva_neighbourhood":
        return {**hva_fig(a, w, p.facts), **facts}
    if analysis == "policy_violations":
        n = sum(len(b) for b in p.flows)
        return {**facts, "flows": n, "peers": sorted({_ip(w, int(x)) for b in p.flows
                                                      for x in np.unique(b.dst)})}
    assert isinstance(e, int)
    if analysis == "fanout_scanners":
        return {**fanout_fig(a, e), **facts}
    if analysis == "vertical_scans":
        return {**vertical_fig(a, e, p.members[0] if p.members else None), **facts}
    if analysis == "syn_only_scans":
        return {**syn_fig(a, e), **facts}
    if analysis == "low_and_slow":
        return {**low_slow_fig(a, e), **facts}
    if analysis == "ingress_peaks":
        return {**ingress_fig(a, e), **facts}
    if analysis == "scanner_got_in":
        return {**got_in_fig(a, e, p.members[0]), **facts}
    return dict(facts)


_VALUE = {
    "fanout_min_peers": ("fanout_scanners", "peers"),
    "vertical_min_ports": ("vertical_scans", "ports_on_target"),
    "syn_only_min_flows": ("syn_only_scans", "failed"),
    "syn_only_min_ratio": ("syn_only_scans", "ratio"),
    "low_and_slow_min_hosts": ("low_and_slow", "own_hosts"),
    "low_and_slow_min_days": ("low_and_slow", "days_active"),
    "coordinated_min_members": ("coordinated_scanners", "members"),
    "coordinated_min_hosts": ("coordinated_scanners", "hosts"),
    "ingress_peak_factor": ("ingress_peaks", "ratio"),
}


def _lookalike_fig(a: Audit, w: World, p: Plant) -> Figures:
    if isinstance(p.entity, str):  # the CDN /24
        dst = a.pairs % a.n
        sel = np.isin(dst, np.array(p.members))
        clients = np.unique(a.pairs[sel] // a.n)
        return {"addresses": len(p.members), "own_clients": int(a.own[clients].sum()),
                "max_clients_per_day_one_address": int(a.in_peers[:, p.members].max())}
    e = p.entity
    n_fail, n_flows = int(a.failed[:, e].sum()), int(a.flows[:, e].sum())
    fig: Figures = {"max_peers_per_day": int(a.peers[:, e].max()),
                    "max_clients_per_day": int(a.in_peers[:, e].max()),
                    "flows": n_flows, "failed_share": round(n_fail / max(n_flows, 1), 4),
                    "days_active": int(a.days_active[e]), "own_hosts": int(a.own_hosts[e]),
                    "distinct_peers": int((a.pairs // a.n == e).sum())}
    if p.analysis == "weekly_batch":
        ing = ingress_fig(a, e)
        batch = p.facts["batch_days"]
        fig["ingress_per_day"] = ing["ingress_per_day"]
        fig["top_over_second"] = ing["ratio"]
        fig["batch_days"] = [a.dates[d] for d in batch]
        fig["week_earlier_ratio"] = {a.dates[d]: round(int(a.ingress[d, e])
                                                       / max(int(a.ingress[d - 7, e]), 1), 4)
                                     for d in batch if d >= 7}
        fig["previous_day_ratio"] = {a.dates[d]: round(int(a.ingress[d, e])
                                                       / max(int(a.ingress[d - 1, e]), 1), 2)
                                     for d in batch if d >= 1}
    elif p.analysis == "vulnerability_scanner":
        fig["scan_days"] = {a.dates[d]: {"peers": int(a.peers[d, e]),
                                         "max_ports_on_target": int(a.max_ports[d, e]),
                                         "failed": int(a.failed[d, e]),
                                         "flows": int(a.flows[d, e])}
                            for d in p.facts["scan_days"]}
        fig["whitelisted"] = True
    elif p.analysis == "few_failures":
        fig.update(syn_fig(a, e))
    return fig


def build_truth(w: World, plants: list[Plant], a: Audit, generator: dict[str, Any]) -> GroundTruth:
    """The ground truth of the dataset whose flows ``a`` has seen."""
    t = w.cfg.thresholds
    day0 = day_start_us(w.cfg, 0)
    whitelisted = {w.idx("vscan01"), w.idx("mon01")}
    crossings = a.crossings(whitelisted)
    positives: list[Positive] = []
    near: list[NearMiss] = []
    looks: list[Lookalike] = []
    expected: set[tuple[str, str]] = set()
    failed_plants: list[Figures] = []
    explained = {(m, _entity(w, p)) for p in plants if p.group == "lookalike" for m in p.mimics}
    for p in plants:
        ent = _entity(w, p)
        members = [_ip(w, m) for m in p.members]
        days = ([a.dates[d] for d in p.days] if p.days is not None
                else _days(a, p.flows, day0))
        if p.group == "positive":
            positives.append(Positive(p.analysis, ent, members, figures(a, w, p.analysis, p),
                                      days, planted_as=p.analysis))
            expected.add((p.analysis, ent))
            if p.analysis in AUDITED and (p.analysis, ent) not in crossings:
                failed_plants.append({"plant": p.analysis, "entity": ent,
                                      "problem": "positive does not cross its threshold"})
            for other in AUDITED:
                if other != p.analysis and (other, ent) in crossings and \
                        (other, ent) not in explained:
                    positives.append(Positive(other, ent, members, figures(a, w, other, p), days,
                                              planted_as=p.analysis))
                    expected.add((other, ent))
        elif p.group == "near_miss":
            fig = figures(a, w, p.analysis, p)
            analysis, key = _VALUE[p.threshold]
            value = float(fig[key])
            limit = float(getattr(t, p.threshold))
            near.append(NearMiss(p.analysis, ent, members, p.threshold, value, limit,
                                 round(limit - value, 4), fig))
            hits = [k for k in crossings if k[1] in (ent, *members)]
            if value >= limit or hits:
                failed_plants.append({"plant": f"near_miss:{p.threshold}", "entity": ent,
                                      "problem": f"value {value} vs {limit}; crossings {hits}"})
        else:
            looks.append(Lookalike(p.analysis, ent, members, list(p.mimics), p.why,
                                   _lookalike_fig(a, w, p)))
            expected.update((m, ent) for m in p.mimics)
    unplanned = [{"analysis": k[0], "entity": k[1], **v} for k, v in sorted(crossings.items())
                 if k not in expected]
    return GroundTruth(
        generator=generator, start=w.cfg.start, days=w.cfg.days, flows=a.total,
        own_networks=w.cfg.own_networks, positives=positives, near_misses=near,
        lookalikes=looks, definitions=dict(DEFINITIONS),
        audit={"unplanned_crossings": unplanned, "failed_plants": failed_plants},
    )
