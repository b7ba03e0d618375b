"""Near-misses (each just below one threshold) and lookalikes (benign, but resembling a finding).

A detector that reports any of these is wrong: near-misses test that thresholds are applied
exactly as configured, lookalikes test that context (answers, roles, the whitelist, the
week-earlier comparison) is used.

Examples
--------
>>> from graphflow.synth.model import GeneratorConfig
>>> from graphflow.synth.network import build_world
>>> w = build_world(GeneratorConfig(days=8, flows_per_day=500))
>>> [p.threshold for p in near_misses(w)][:3]
['fanout_min_peers', 'vertical_min_ports', 'syn_only_min_flows']
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from graphflow.synth.background import HOUR
from graphflow.synth.flows import SEC, STATE, FlowBatch, exact_tcp, icmp_echo, tcp, udp
from graphflow.synth.network import World, rng_for
from graphflow.synth.plants import (
    TOP_PORTS,
    Plant,
    burst,
    day_t0,
    failing_ports,
    is_live,
    ports_open,
    probe_flows,
    split,
    start_in_day,
)
from graphflow.synth.positives import battery

__all__ = ["lookalikes", "near_misses"]


def _cap(w: World) -> int:
    t = w.cfg.thresholds
    return min(t.fanout_min_peers, t.syn_only_min_flows) - 1


def _failed_probes(rng: np.random.Generator, w: World, src: int, targets: list[int], n: int,
                   day: int) -> FlowBatch:
    """Exactly ``n`` failed flows (S0/REJ) from ``src``, each target on one closed port."""
    port_of = {t: (failing_ports(w, t, rng, 1)[0] if is_live(w, t) else int(rng.choice([3389, 23])))
               for t in targets}
    dst = np.concatenate([targets, rng.choice(targets, max(0, n - len(targets)))])[:n]
    ts = burst(rng, start_in_day(rng, w, day), n, (500, 60_000))
    return probe_flows(rng, w, ts, src, dst, [port_of[int(d)] for d in dst], syn=60)


def _answered(rng: np.random.Generator, w: World, src: int, n: int, day: int) -> FlowBatch:
    """``n`` small answered HTTPS requests from ``src`` to the public web site."""
    ts = start_in_day(rng, w, day) + np.sort(rng.integers(0, 3 * HOUR, n))
    return tcp(rng, ts, src, w.idx("www"), 443, "ssl", v6=np.zeros(n, bool),
               states=np.full(n, STATE["SF"], np.int8), orig=(350, 0.2), resp=(1500, 0.3),
               dur=(0.2, 0.3))


def _dilute(rng: np.random.Generator, w: World, src: int, failed: int, day: int
            ) -> list[FlowBatch]:
    """Answered flows enough to keep ``failed`` failures under the SYN-only ratio, if the
    count alone would not keep them under the SYN-only thresholds."""
    t = w.cfg.thresholds
    if failed < t.syn_only_min_flows:
        return []
    total = failed + 1
    while failed / total >= t.syn_only_min_ratio * 0.9:
        total += 1
    return [_answered(rng, w, src, total - failed, day)]


def near_misses(w: World) -> list[Plant]:
    """One plant just below each threshold (the value is measured later, on the flows)."""
    rng = rng_for(w.cfg.seed, "near_misses")
    t, days = w.cfg.thresholds, w.cfg.days
    dmz = [int(x) for x in w.dmz_all if int(x) not in (w.idx("edi01"), w.idx("sftp01"))]
    out = []

    # Fan-out: a lobby kiosk that browses exactly fanout_min_peers - 1 peers in a day.
    kiosk = w.new_own_host()
    w.book.names[kiosk] = f"kiosk-lobby.{w.cfg.domain}"
    day = int(rng.integers(0, days))
    sites = rng.choice(w.pools["web"], t.fanout_min_peers - 2, replace=False)
    ts = start_in_day(rng, w, day, (8, 16)) + np.sort(rng.integers(0, 2 * HOUR, sites.size))
    retry = rng.choice(sites.size, 5, replace=False)
    per_site = t.ingress_peak_min_bytes / (3 * sites.size)  # the day stays far below a peak
    flows = [udp(rng, ts - 20_000, kiosk, w.idx("ns01"), 53, "dns", v6=np.zeros(sites.size, bool),
                 answered=np.ones(sites.size, bool), orig=(38, 0.2), resp=(110, 0.5),
                 dur=(0.004, 0.5)),
             tcp(rng, ts, kiosk, sites, 443, "ssl", v6=np.zeros(sites.size, bool),
                 states=np.full(sites.size, STATE["SF"], np.int8), orig=(1200, 0.8),
                 resp=(min(30_000, per_site / 4), 1.0), dur=(2.0, 1.0), cap=per_site,
                 sport_range=(49152, 65536)),
             tcp(rng, ts[retry] - 3 * SEC, kiosk, sites[retry], 443, "-", v6=np.zeros(5, bool),
                 states=np.full(5, STATE["S0"], np.int8), orig=(1, 0), resp=(1, 0),
                 dur=(1, 0), sport_range=(49152, 65536))]
    out.append(Plant("near_miss", "fanout_scanners", kiosk, flows=flows, watch=[kiosk],
                     threshold="fanout_min_peers"))

    # Vertical: one port short, all refused.
    src = w.new_external(rng)[0]
    target = w.idx(str(rng.choice(["www", "mail01", "api"])))
    day = int(rng.integers(0, days))
    ports = failing_ports(w, target, rng, t.vertical_min_ports - 1)
    ts = burst(rng, start_in_day(rng, w, day), len(ports), (5, 400))
    flows = [probe_flows(rng, w, ts, src, target, ports, sport=int(rng.integers(40000, 65000)))]
    flows += _dilute(rng, w, src, len(ports), day)
    out.append(Plant("near_miss", "vertical_scans", src, members=[target], flows=flows,
                     watch=[src], threshold="vertical_min_ports"))

    # SYN-only, by count: one failure short, nothing answered.
    src = w.new_external(rng)[0]
    targets = [int(x) for x in rng.choice(dmz, int(rng.integers(2, 4)), replace=False)]
    probes = _failed_probes(rng, w, src, targets, t.syn_only_min_flows - 1,
                            int(rng.integers(0, days)))
    out.append(Plant("near_miss", "syn_only_scans", src, watch=[src],
                     threshold="syn_only_min_flows", flows=[probes]))

    # SYN-only, by ratio: plenty of failures, but just enough answered flows.
    src = w.new_external(rng)[0]
    targets = [int(x) for x in rng.choice(dmz, int(rng.integers(2, 5)), replace=False)]
    failed = t.syn_only_min_flows + int(rng.integers(10, 30))
    total = int(np.ceil(failed / t.syn_only_min_ratio))
    while failed / total >= t.syn_only_min_ratio:
        total += 1
    day = int(rng.integers(0, days))
    flows = [_failed_probes(rng, w, src, targets, failed, day),
             _answered(rng, w, src, total - failed, day)]
    out.append(Plant("near_miss", "syn_only_scans", src, watch=[src],
                     threshold="syn_only_min_ratio", flows=flows))

    # Low-and-slow: one host short over enough days; enough hosts over one day too few.
    for threshold in ("low_and_slow_min_hosts", "low_and_slow_min_days"):
        src = w.new_external(rng)[0]
        if threshold == "low_and_slow_min_hosts":
            n_days, hosts = t.low_and_slow_min_days + 2, t.low_and_slow_min_hosts - 1
        else:
            n_days = t.low_and_slow_min_days - 1
            hosts = min(t.low_and_slow_min_hosts + int(rng.integers(3, 10)), n_days * _cap(w))
        chosen = sorted(int(d) for d in rng.choice(days, n_days, replace=False))
        port = int(rng.choice([22, 23, 2222]))
        flows = []
        for day, part in zip(chosen, split(rng, rng.choice(dmz, hosts, replace=False), n_days),
                             strict=True):
            ts = burst(rng, start_in_day(rng, w, day), len(part), (60_000, 900_000))
            flows.append(probe_flows(rng, w, ts, src, part, port,
                                     sport=int(rng.integers(1024, 65000))))
        out.append(Plant("near_miss", "low_and_slow", src, flows=flows, watch=[src],
                         threshold=threshold, facts={"port": f"tcp/{port}"}))

    # Coordinated: a pair covering enough hosts; a full battery one host short.
    m = t.coordinated_min_members - 1
    hosts = min(t.coordinated_min_hosts + int(rng.integers(3, 8)), m * _cap(w))
    srcs, flows, prefix = battery(rng, w, m, hosts, "research-scan.example", False)
    out.append(Plant("near_miss", "coordinated_scanners", prefix, members=srcs, flows=flows,
                     watch=srcs, threshold="coordinated_min_members",
                     facts={"domain": "research-scan.example"}))
    m = t.coordinated_min_members + 1
    srcs, flows, prefix = battery(rng, w, m, t.coordinated_min_hosts - 1, "probe-net.example",
                                  False)
    out.append(Plant("near_miss", "coordinated_scanners", prefix, members=srcs, flows=flows,
                     watch=srcs, threshold="coordinated_min_hosts",
                     facts={"domain": "probe-net.example"}))

    out.append(_edi_near_miss(w, rng))
    return out


def _edi_near_miss(w: World, rng: np.random.Generator) -> Plant:
    """Partners upload to edi01 every weekday; one day brings just under factor x the usual."""
    t = w.cfg.thresholds
    edi = w.idx("edi01")
    partners = [w.new_external(rng, names=[f"edi.trading-partner-{k}.example"])[0]
                for k in range(2)]
    weekdays = [d for d in range(w.cfg.days)
                if (w.cfg.start_date + dt.timedelta(days=d)).weekday() < 5]
    peak = int(rng.choice(weekdays))
    base = int(1.5 * t.ingress_peak_min_bytes)
    top = int(base * t.ingress_peak_factor * 0.975)
    while top / base >= t.ingress_peak_factor:
        top -= 1
    flows = []
    for d in weekdays:
        total = top if d == peak else base
        n = int(rng.integers(2, 5))
        cuts = np.sort(rng.choice(np.arange(1, total // 1000), n - 1, replace=False)) * 1000
        amounts = np.diff(np.concatenate([[0], cuts, [total]]))
        ts = day_t0(w, d) + np.sort(rng.integers(7 * HOUR, 18 * HOUR, n))
        flows.append(exact_tcp(ts, rng.choice(partners, n), edi, 22, "ssh", orig_ip=amounts,
                               resp_ip=20_000 + amounts // 100, dur_s=amounts / 2e6,
                               sport=rng.integers(32768, 61000, n)))
    return Plant("near_miss", "ingress_peaks", edi, members=partners, flows=flows, watch=[edi],
                 threshold="ingress_peak_factor")


def lookalikes(w: World) -> list[Plant]:
    """Benign look-alikes; the background already holds some of them (no flows added)."""
    rng = rng_for(w.cfg.seed, "lookalikes")
    h = w.idx
    out = [
        Plant("lookalike", "dns_resolver", h("ns01"), mimics=["fanout_scanners"],
              why="the internal resolver forwards cache misses to many external DNS servers "
                  "on udp/53; nearly every query is answered (SF) and its role is "
                  "dns_resolver in assets.json"),
        Plant("lookalike", "ntp_server", h("ntp01"), mimics=["fanout_scanners", "low_and_slow"],
              why="the NTP server polls a rotating set of public time servers on udp/123 every "
                  "day (tiny, answered flows) and serves every internal host"),
        Plant("lookalike", "web_proxy", h("proxy01"), mimics=["fanout_scanners"],
              why="the web proxy (NAT point for browsing) reaches thousands of web servers on "
                  "tcp/80 and tcp/443, almost all established and data-bearing"),
        Plant("lookalike", "cdn", w.cdn_prefix, members=[int(x) for x in w.pools["cdn"]],
              mimics=["coordinated_scanners"],
              why="many addresses of one CDN /24 serve most workstations; own hosts "
                  "originate, and the flows are established and data-bearing"),
        Plant("lookalike", "busy_server", h("www"), mimics=["fanout_scanners"],
              why="the public web site is reached by many external clients a day; it answers "
                  "them on tcp/443 and tcp/80, which its role allows, and never originates"),
        Plant("lookalike", "monitoring", h("mon01"), mimics=["low_and_slow", "fanout_scanners"],
              why="the monitoring server pings and checks every server every day with tiny "
                  "flows; it is whitelisted infrastructure"),
    ]
    out.append(_vuln_scanner(w, rng))
    out.append(_weekly_batch(w, rng))
    # A workstation whose favourite site is down for a while: a few ordinary failures.
    user = w.take_user(rng)
    dead = w.new_external(rng, names=["status.flaky-saas.example"])[0]
    day = int(rng.integers(0, w.cfg.days))
    n = int(rng.integers(5, 9))
    ts = burst(rng, start_in_day(rng, w, day, (8, 16)), n, (20_000, 600_000))
    k = list(w.users).index(user)
    ok = w.personal[k, :int(w.personal_k[k])]
    m = 2 * n
    browse = tcp(rng, np.sort(rng.integers(int(ts[0]), int(ts[-1]) + HOUR, m)), user,
                 rng.choice(ok, m), 443, "ssl", v6=np.zeros(m, bool),
                 states=np.full(m, STATE["SF"], np.int8), orig=(1500, 1.0), resp=(25_000, 1.3),
                 dur=(3.0, 1.3), sport_range=(49152, 65536))
    out.append(Plant("lookalike", "few_failures", user, members=[dead], watch=[user],
                     mimics=["syn_only_scans"],
                     flows=[tcp(rng, ts, user, dead, 443, "-", v6=np.zeros(n, bool),
                                states=np.full(n, STATE["S0"], np.int8), orig=(1, 0),
                                resp=(1, 0), dur=(1, 0), sport_range=(49152, 65536)), browse],
                     why="a handful of unanswered connections to one site that was down, among "
                         "the host's ordinary traffic: far below the SYN-only count and ratio"))
    return out


def _vuln_scanner(w: World, rng: np.random.Generator) -> Plant:
    """The sanctioned scanner sweeps every server, some workstations and part of the DMZ
    each Tuesday night: discovery on all, then the top ports on live hosts."""
    t = w.cfg.thresholds
    vscan = w.idx("vscan01")
    live = [int(x) for x in w.monitored if int(x) != vscan]
    live += [int(x) for x in rng.choice(w.users, 30, replace=False)]
    dead = [int(x) for x in w.dmz_all if not is_live(w, int(x))]
    dead = [int(x) for x in rng.choice(dead, min(len(dead), t.fanout_min_peers + 10),
                                       replace=False)]
    discovery = [22, 80, 443, 445, 3389, 135, 25, 53]
    full = list(dict.fromkeys(discovery + list(TOP_PORTS)))[:t.vertical_min_ports + 10]
    flows = []
    scan_days = [d for d in range(w.cfg.days)
                 if (w.cfg.start_date + dt.timedelta(days=d)).weekday() == 1]
    for day in scan_days:
        t0 = day_t0(w, day) + HOUR + int(rng.integers(0, 1800 * SEC))
        targets = live + dead
        flows.append(icmp_echo(rng, burst(rng, t0, len(targets), (5, 50)), vscan,
                               np.array(targets), answered=np.array([is_live(w, x)
                                                                     for x in targets])))
        dst = [x for x in targets for _ in (full if is_live(w, x) else discovery)]
        ports = [p for x in targets for p in (full if is_live(w, x) else discovery)]
        ts = burst(rng, t0 + 300 * SEC, len(dst), (5, 400))
        flows.append(probe_flows(rng, w, ts, vscan, dst, ports, syn=60,
                                 sport=int(rng.integers(40000, 65000))))
        # Banner and version checks on what answered.
        opened = [(x, p) for x in live for p in ports_open(w, x) if p in full]
        if opened:
            tsb = burst(rng, int(ts[-1]) + 60 * SEC, len(opened), (100, 2000))
            flows.append(tcp(rng, tsb, vscan, [x for x, _ in opened], [p for _, p in opened],
                             "-", v6=np.zeros(len(opened), bool),
                             states=np.full(len(opened), STATE["SF"], np.int8), orig=(300, 0.5),
                             resp=(900, 0.5), dur=(0.3, 0.5)))
    return Plant("lookalike", "vulnerability_scanner", vscan, flows=flows,
                 mimics=["fanout_scanners", "vertical_scans", "syn_only_scans",
                         "coordinated_scanners", "low_and_slow"],
                 why="the sanctioned vulnerability scanner (whitelist.txt) sweeps every server, "
                     "sampled workstations and the DMZ each Tuesday night, every port it knows",
                 facts={"scan_days": scan_days, "whitelisted": True})


def _weekly_batch(w: World, rng: np.random.Generator) -> Plant:
    """etl01 pulls a small daily extract and, once a week on the same weekday, a big one."""
    t = w.cfg.thresholds
    etl = w.idx("etl01")
    vendor = w.new_external(rng, names=["sftp.datavendor.example"])[0]
    first = int(rng.integers(0, min(7, w.cfg.days - 7)))
    weekday = (w.cfg.start_date + dt.timedelta(days=first)).weekday()
    flows = []
    big_days: list[int] = []
    for d in range(w.cfg.days):
        amounts = [int(0.3 * t.ingress_peak_min_bytes * rng.uniform(0.9, 1.1))]
        if (w.cfg.start_date + dt.timedelta(days=d)).weekday() == weekday:
            amounts.append(int(12 * t.ingress_peak_min_bytes * (1 + 0.06 * len(big_days))))
            big_days.append(d)
        n = len(amounts)
        ts = day_t0(w, d) + 2 * HOUR + np.arange(n) * 1800 * SEC + int(rng.integers(0, 600 * SEC))
        flows.append(exact_tcp(ts, etl, vendor, 22, "ssh", orig_ip=[20_000] * n,
                               resp_ip=amounts, dur_s=np.array(amounts) / 5e6,
                               sport=rng.integers(32768, 61000, n)))
    return Plant("lookalike", "weekly_batch", etl, members=[vendor], flows=flows, watch=[etl],
                 mimics=["ingress_peaks"],
                 why="a scheduled batch job pulls a large extract every week on the same weekday; "
                     "the peak repeats, so the week-earlier comparison explains it and no day "
                     "stands out against its second-highest",
                 facts={"batch_days": big_days})
