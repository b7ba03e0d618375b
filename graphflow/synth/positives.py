"""Planted attackers: one small function per analysis, sized from the configured thresholds.

Each function draws its addresses, days and times from its own random stream (so that
changing one scenario leaves the others alone) and returns :class:`~.plants.Plant` objects.
Counts are derived from :class:`graphflow.config.Thresholds`, never written as literals.

Examples
--------
>>> from graphflow.synth.model import GeneratorConfig
>>> from graphflow.synth.network import build_world
>>> w = build_world(GeneratorConfig(days=8, flows_per_day=500))
>>> p = vertical_scans(w)[0]
>>> p.analysis, len({int(x) for x in p.flows[0].dport}) >= w.cfg.thresholds.vertical_min_ports
('vertical_scans', True)
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import numpy as np

from graphflow.synth.background import HOUR
from graphflow.synth.flows import SEC, STATE, FlowBatch, draw_states, exact_tcp, icmp_echo, tcp, udp
from graphflow.synth.network import World, is_special_v4, rng_for
from graphflow.synth.plants import (
    TOP_PORTS,
    Plant,
    burst,
    day_t0,
    probe_flows,
    split,
    start_in_day,
)

__all__ = [
    "POSITIVES",
    "coordinated_scanners",
    "fanout_scanners",
    "hva_neighbourhood",
    "ingress_peaks",
    "low_and_slow",
    "policy_violations",
    "scanner_got_in",
    "syn_only_scans",
    "vertical_scans",
]


def _per_source_cap(w: World) -> int:
    """Most hosts (one flow each) a quiet source may touch in a day and stay under both the
    fan-out and the SYN-only count thresholds."""
    t = w.cfg.thresholds
    return min(t.fanout_min_peers, t.syn_only_min_flows) - 1


def _random_internet(rng: np.random.Generator, w: World, n: int) -> list[int]:
    """``n`` random public addresses (what a worm sweeps), none of them known hosts."""
    out: list[int] = []
    while len(out) < n:
        v = int(rng.integers(11 << 24, 224 << 24))
        a, b, c = v >> 24, (v >> 16) & 255, (v >> 8) & 255
        ip = str(ipaddress.IPv4Address(v))
        if v & 255 in (0, 255) or is_special_v4(v) or (a, b, c) in w.used24 or \
                ip in w.book.index or (a, b) in w.planted_prefixes:
            continue
        out.append(w.book.add(ip, False))
    return out


def fanout_scanners(w: World) -> list[Plant]:
    """An external horizontal scanner sweeping the DMZ on one port, and an infected
    workstation sweeping random internet addresses on tcp/445."""
    rng = rng_for(w.cfg.seed, "fanout_scanners")
    t, days = w.cfg.thresholds, w.cfg.days
    src = w.new_external(rng, names=["vps-31337.bulletproof-hosting.example"])[0]
    day = int(rng.integers(1, days))
    port = int(rng.choice([22, 3389]))
    k = t.fanout_min_peers + int(rng.integers(15, 60))
    targets = rng.choice(w.dmz_all, k, replace=False)
    ts = burst(rng, start_in_day(rng, w, day), k, (50, 900))
    scan = probe_flows(rng, w, ts, src, targets, port, sport=int(rng.integers(40000, 65000)))
    out = [Plant("positive", "fanout_scanners", src, flows=[scan], watch=[src],
                 facts={"port": f"tcp/{port}", "direction": "inbound"})]
    user = w.take_user(rng)
    day2 = int(rng.integers(0, days))
    k2 = t.fanout_min_peers + int(rng.integers(30, 100))
    victims = np.array(_random_internet(rng, w, k2), dtype=np.int32)
    ts = burst(rng, start_in_day(rng, w, day2, (8, 16)), k2, (100, 4000))
    sweep = tcp(rng, ts, user, victims, 445, "-", v6=np.zeros(k2, bool),
                states=draw_states(rng, k2, {"REJ": 0.05, "S0": 0.95}), orig=(1, 0),
                resp=(1, 0), dur=(0.1, 0), syn=52, sport_range=(49152, 65536))
    out.append(Plant("positive", "fanout_scanners", user, flows=[sweep], watch=[user],
                     facts={"port": "tcp/445", "direction": "outbound",
                            "note": "infected workstation sweeping the internet"}))
    return out


def vertical_scans(w: World) -> list[Plant]:
    """An external source probing many ports of one DMZ server in one day."""
    rng = rng_for(w.cfg.seed, "vertical_scans")
    t = w.cfg.thresholds
    src = w.new_external(rng)[0]
    target = w.idx(str(rng.choice(["www", "api", "mail01"])))
    day = int(rng.integers(0, w.cfg.days))
    k = t.vertical_min_ports + int(rng.integers(15, 80))
    ports = list(rng.choice(TOP_PORTS, min(k, len(TOP_PORTS)), replace=False))
    ports += list(range(20_000, 20_000 + k - len(ports)))
    ts = burst(rng, start_in_day(rng, w, day), k, (5, 300))
    b = probe_flows(rng, w, ts, src, target, ports, sport=int(rng.integers(40000, 65000)))
    return [Plant("positive", "vertical_scans", src, members=[target], flows=[b], watch=[src])]


def syn_only_scans(w: World) -> list[Plant]:
    """An external source retrying RDP/telnet on a few DMZ addresses, never answered."""
    rng = rng_for(w.cfg.seed, "syn_only_scans")
    t = w.cfg.thresholds
    src = w.new_external(rng)[0]
    day = int(rng.integers(0, w.cfg.days))
    n = t.syn_only_min_flows + int(rng.integers(5, 40))
    targets = rng.choice(w.dmz_all, int(rng.integers(2, 5)), replace=False)
    dst = rng.choice(targets, n)
    ports = rng.choice(np.array([3389, 23]), n, p=[0.7, 0.3])
    ts = burst(rng, start_in_day(rng, w, day), n, (500, 60_000))
    b = probe_flows(rng, w, ts, src, dst, ports, syn=60)
    return [Plant("positive", "syn_only_scans", src, flows=[b], watch=[src])]


def low_and_slow(w: World) -> list[Plant]:
    """An external source touching a few DMZ addresses a day over many days."""
    rng = rng_for(w.cfg.seed, "low_and_slow")
    t = w.cfg.thresholds
    src = w.new_external(rng)[0]
    n_days = min(w.cfg.days, t.low_and_slow_min_days + int(rng.integers(2, 5)))
    days = sorted(int(d) for d in rng.choice(w.cfg.days, n_days, replace=False))
    hosts = t.low_and_slow_min_hosts + int(rng.integers(4, 11))
    targets = rng.choice(w.dmz_all, hosts, replace=False)
    port = int(rng.choice([22, 23, 2222]))
    flows = []
    for day, part in zip(days, split(rng, targets, n_days), strict=True):
        ts = burst(rng, start_in_day(rng, w, day), len(part), (60_000, 900_000))
        flows.append(probe_flows(rng, w, ts, src, part, port, sport=int(rng.integers(1024, 65000))))
    return [Plant("positive", "low_and_slow", src, flows=flows, watch=[src],
                  facts={"port": f"tcp/{port}"})]


def battery(rng: np.random.Generator, w: World, members: int, hosts: int, domain: str,
            overlap: bool) -> tuple[list[int], list[FlowBatch], str]:
    """``members`` sources in one /24, named under ``domain``, together covering exactly
    ``hosts`` DMZ addresses on one port in one day, each staying under every per-source
    threshold. Returns (members, flows, prefix)."""
    names = [f"scan-{i + 1:02d}.{domain}" for i in range(members)]
    srcs = w.new_external(rng, members, names=names)
    day = int(rng.integers(0, w.cfg.days))
    port = int(rng.choice([5900, 8080, 6379]))
    targets = rng.choice(w.dmz_all, hosts, replace=False)
    parts = split(rng, targets, members)
    cap = _per_source_cap(w)
    flows = []
    t0 = start_in_day(rng, w, day, (0, 18))
    for k, (src, part) in enumerate(zip(srcs, parts, strict=True)):
        extra = parts[(k + 1) % members][:2] if overlap and members > 1 else part[:0]
        mine = np.concatenate([part, extra])[:cap]
        ts = burst(rng, t0 + int(rng.integers(0, 3 * HOUR)), len(mine), (2_000, 40_000))
        flows.append(probe_flows(rng, w, ts, src, mine, port, sport=int(rng.integers(1024, 65000))))
    a, b, c, _ = w.addr(srcs[0]).split(".")
    return srcs, flows, f"{a}.{b}.{c}.0/24"


def coordinated_scanners(w: World) -> list[Plant]:
    """A battery of scanners in one /24 sharing a registered domain, splitting the DMZ."""
    rng = rng_for(w.cfg.seed, "coordinated_scanners")
    t = w.cfg.thresholds
    members = t.coordinated_min_members + 1
    hosts = min(t.coordinated_min_hosts + int(rng.integers(5, 13)), members * _per_source_cap(w))
    srcs, flows, prefix = battery(rng, w, members, hosts, "scan-provider.example", True)
    return [Plant("positive", "coordinated_scanners", prefix, members=srcs, flows=flows,
                  watch=srcs, facts={"domain": "scan-provider.example"})]


def scanner_got_in(w: World) -> list[Plant]:
    """A quiet SSH prober that, days later, holds a real session on the SFTP server it probed."""
    rng = rng_for(w.cfg.seed, "scanner_got_in")
    src = w.new_external(rng)[0]
    sftp = w.idx("sftp01")
    day = int(rng.integers(0, w.cfg.days - 4))
    others = [int(x) for x in w.dmz_all if int(x) not in (sftp, w.idx("edi01"))]
    targets = np.array([sftp, *rng.choice(others, int(rng.integers(7, 14)), replace=False)])
    targets = rng.permutation(targets)
    t0 = start_in_day(rng, w, day)
    ts = burst(rng, t0, len(targets), (1_000, 30_000))
    probes = probe_flows(rng, w, ts, src, targets, 22, syn=60)
    banner = tcp(rng, [int(ts[-1]) + 5 * SEC], src, sftp, 22, "ssh", v6=np.zeros(1, bool),
                 states=np.full(1, STATE["SF"], np.int8), orig=(22, 0), resp=(41, 0),
                 dur=(0.4, 0))
    later = day + int(rng.integers(2, 4))
    t1 = start_in_day(rng, w, later, (1, 5))
    tries = tcp(rng, burst(rng, t1, 2, (20_000, 90_000)), src, sftp, 22, "ssh",
                v6=np.zeros(2, bool), states=np.full(2, STATE["SF"], np.int8), orig=(1500, 0.2),
                resp=(2500, 0.2), dur=(3.0, 0.3))
    session = tcp(rng, [t1 + 300 * SEC], src, sftp, 22, "ssh", v6=np.zeros(1, bool),
                  states=np.full(1, STATE["SF"], np.int8),
                  orig=(float(rng.integers(30_000, 90_000)), 0),
                  resp=(float(rng.integers(300_000, 900_000)), 0), dur=(1500.0, 0))
    return [Plant("positive", "scanner_got_in", src, members=[sftp],
                  flows=[probes, banner, tries, session], watch=[src],
                  facts={"port": "tcp/22"})]


def ingress_peaks(w: World) -> list[Plant]:
    """A workstation that one day downloads far more from a few external senders than ever."""
    rng = rng_for(w.cfg.seed, "ingress_peaks")
    t = w.cfg.thresholds
    host = w.take_user(rng)
    day = int(rng.integers(0, w.cfg.days))
    senders = [w.new_external(rng, names=[f"dl{k}.filedrop-{k}.example"])[0] for k in range(3)]
    total = int(25 * t.ingress_peak_min_bytes * rng.uniform(1.0, 2.0))
    shares = np.array([0.55, 0.3, 0.15])
    flows = []
    t0 = start_in_day(rng, w, day, (8, 16))
    for k, (s, share) in enumerate(zip(senders, shares, strict=True)):
        n = int(rng.integers(1, 4))
        amounts = np.full(n, int(total * share) // n, dtype=np.int64)
        flows.append(exact_tcp(t0 + k * 600 * SEC + np.arange(n) * 900 * SEC, host, s, 443, "ssl",
                               orig_ip=amounts // 60, resp_ip=amounts,
                               dur_s=amounts / 4e6, sport=rng.integers(49152, 65535, n)))
    return [Plant("positive", "ingress_peaks", host, members=senders, flows=flows, watch=[host])]


def hva_neighbourhood(w: World) -> list[Plant]:
    """The finance application (an HVA) talks to a few SaaS APIs every weekday; in the second
    week new external peers appear next to it."""
    rng = rng_for(w.cfg.seed, "hva_neighbourhood")
    hva = w.idx("finance-app")
    base = [w.new_external(rng, names=[f"api.payments-{k}.example"])[0] for k in range(3)]
    new = [w.new_external(rng, names=[name])[0] for name in
           ("upload.storage-bucket.example", "cdn-sync.unknown-vendor.example")]
    firsts = sorted(int(d) for d in rng.choice(np.arange(7, w.cfg.days), 2,
                                               replace=w.cfg.days - 7 < 2))
    flows = []
    for day in range(w.cfg.days):
        weekday = (w.cfg.start_date + dt.timedelta(days=day)).weekday() < 5
        peers = list(base) if weekday else []
        peers += [p for p, f in zip(new, firsts, strict=True) if day == f or (day > f and weekday)]
        for p in peers:
            n = int(rng.integers(4, 11))
            ts = day_t0(w, day) + np.sort(rng.integers(6 * HOUR, 18 * HOUR, n))
            flows.append(tcp(rng, ts, hva, p, 443, "ssl", v6=np.zeros(n, bool),
                             states=np.full(n, STATE["SF"], np.int8), orig=(3000, 0.5),
                             resp=(8000, 0.5), dur=(0.5, 0.5)))
    hvas = [h.idx for h in w.hosts.values() if h.criticality == "high"]
    return [Plant("positive", "hva_neighbourhood", hva, members=new, flows=flows,
                  facts={"hvas": hvas}, days=sorted(set(firsts)))]


def policy_violations(w: World) -> list[Plant]:
    """SMTP out of the proxy, a workstation on the database port, a host talking to a
    non-routable address, and a device outside every declared range."""
    rng = rng_for(w.cfg.seed, "policy_violations")
    days = w.cfg.days
    h = w.idx
    out = []
    mx = [w.new_external(rng, names=[f"mx.bulk-mailer-{k}.example"])[0] for k in range(
        int(rng.integers(3, 6)))]
    n = int(rng.integers(8, 20))
    ts = burst(rng, start_in_day(rng, w, int(rng.integers(0, days))), n, (5_000, 300_000))
    out.append(Plant("positive", "policy_violations", h("proxy01"), members=mx,
                     flows=[tcp(rng, ts, h("proxy01"), rng.choice(mx, n), 25, "smtp",
                                v6=np.zeros(n, bool), states=np.full(n, STATE["SF"], np.int8),
                                orig=(15_000, 0.6), resp=(700, 0.3), dur=(2.0, 0.5))],
                     facts={"rule": "proxy outbound allows only tcp/80 and tcp/443",
                            "port": "tcp/25"}))
    ws = w.take_user(rng)
    n = int(rng.integers(3, 9))
    ts = burst(rng, start_in_day(rng, w, int(rng.integers(0, days)), (8, 17)), n,
               (10_000, 600_000))
    out.append(Plant("positive", "policy_violations", ws, members=[h("db01")],
                     flows=[tcp(rng, ts, ws, h("db01"), 5432, "postgresql", v6=np.zeros(n, bool),
                                states=np.full(n, STATE["SF"], np.int8), orig=(800, 0.5),
                                resp=(40_000, 1.0), dur=(1.0, 0.5),
                                sport_range=(49152, 65536))],
                     watch=[ws],
                     facts={"rule": "database accepts tcp/5432 only from the app tier",
                            "port": "tcp/5432"}))
    ws2 = w.take_user(rng)
    v = int(ipaddress.IPv4Address("198.18.0.0")) + int(rng.integers(256, 131_000))
    bogon = w.book.add(str(ipaddress.IPv4Address(v)), False)
    day = int(rng.integers(0, days))
    ts = burst(rng, start_in_day(rng, w, day, (8, 17)), 5, (1_000, 120_000))
    out.append(Plant("positive", "policy_violations", ws2, members=[bogon],
                     flows=[tcp(rng, ts[:3], ws2, bogon, 443, "-", v6=np.zeros(3, bool),
                                states=np.full(3, STATE["S0"], np.int8), orig=(1, 0),
                                resp=(1, 0), dur=(0.1, 0), sport_range=(49152, 65536)),
                            icmp_echo(rng, ts[3:], ws2, bogon, answered=np.zeros(2, bool))],
                     watch=[ws2],
                     facts={"rule": "no traffic to non-routable (bogon) addresses",
                            "peer": w.addr(bogon)}))
    rogue = w.book.add(w.rogue_ip, True)
    day = int(rng.integers(0, days - 1))
    flows = []
    for d in (day, day + 1):
        n = int(rng.integers(6, 14))
        ts = day_t0(w, d) + np.sort(rng.integers(9 * HOUR, 17 * HOUR, n))
        flows.append(udp(rng, ts, rogue, h("ns01"), 53, "dns", v6=np.zeros(n, bool),
                         answered=np.ones(n, bool), orig=(38, 0.2), resp=(110, 0.5),
                         dur=(0.004, 0.5)))
        flows.append(tcp(rng, ts[:3] + 2 * SEC, rogue, h("dc01"), 88, "krb_tcp",
                         v6=np.zeros(3, bool), states=np.full(3, STATE["SF"], np.int8),
                         orig=(1400, 0.5), resp=(1600, 0.5), dur=(0.05, 0.5)))
    out.append(Plant("positive", "policy_violations", rogue, members=[h("ns01"), h("dc01")],
                     flows=flows, watch=[rogue],
                     facts={"rule": "own address outside every declared DHCP/static range"}))
    return out


POSITIVES = (fanout_scanners, vertical_scans, syn_only_scans, low_and_slow,
             coordinated_scanners, scanner_got_in, ingress_peaks, hva_neighbourhood,
             policy_violations)
