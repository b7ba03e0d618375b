"""Background traffic of one day, generated with numpy in one pass per traffic kind.

Nothing here loops over flows. Each kind of traffic (workstations through the proxy, DNS,
logons, file shares, direct SaaS, inbound web, mail, backups, monitoring, internet noise, ...)
draws its flows' sources, destinations and start times as arrays, and
:func:`~graphflow.synth.flows.tcp` and friends fill in consistent counters.

Background stays clear of every detector threshold by construction, not by luck:

* each workstation talks to a fixed, small set of servers and SaaS/CDN peers, so its
  distinct peers per day stay far below ``fanout_min_peers``;
* each internet-noise source pokes at a fixed handful of DMZ addresses;
* failed connections are rare, and no background source keeps more than
  ``syn_only_min_flows // 4`` of them in a day (the proxy and the resolver excepted: their
  failure share is around 1 %);
* clients use a handful of ports per server, far below ``vertical_min_ports``;
* per-flow sizes are capped, so no host's daily ingress swings by a factor of two.

The proxy, the resolver, the NTP server, the web server and the monitoring host do resemble
detections; they are declared as lookalikes in the ground truth.

Examples
--------
>>> from graphflow.synth.network import build_world
>>> w = build_world(GeneratorConfig(days=8, flows_per_day=2000))
>>> b = background_day(w, 0)
>>> 1500 < len(b) < 3500
True
>>> bool((b.ts >= day_start_us(w.cfg, 0)).all() and (b.ts < day_start_us(w.cfg, 1)).all())
True
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

from graphflow.synth.flows import (
    FAILED_STATES,
    SEC,
    SERVICE,
    STATE,
    FlowBatch,
    draw_states,
    icmp_echo,
    tcp,
    udp,
)
from graphflow.synth.model import GeneratorConfig
from graphflow.synth.network import World, rng_for

__all__ = ["background_day", "day_start_us", "times", "user_profile"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
HOUR = 3600 * SEC
DAY = 24 * HOUR

# Relative activity per local hour.
_USER_WEEKDAY = np.array([.4, .3, .3, .3, .3, .5, 1, 3, 9, 11, 11, 10, 6, 9, 11, 10, 9, 5, 2.5,
                          1.5, 1, .8, .6, .5])
_USER_WEEKEND = np.array([.5, .4, .3, .3, .3, .3, .4, .6, 1, 1.5, 2, 2, 2, 2, 2, 2, 1.8, 1.6,
                          1.5, 1.4, 1.2, 1, .8, .6])
_INBOUND = np.array([2, 1.5, 1, 1, 1, 1, 1.5, 2.5, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5.5, 6, 6, 5,
                     4, 3])
_NOISE_PORTS = np.array([23, 445, 3389, 5900, 1433, 8080, 2323, 6379, 9200, 5060])


def day_start_us(cfg: GeneratorConfig, day: int) -> int:
    """Epoch microseconds of 00:00 UTC on ``day`` (0-based).

    >>> day_start_us(GeneratorConfig(), 0)
    1772409600000000
    """
    d = cfg.start_date + dt.timedelta(days=day)
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp()) * SEC


def _utc(profile_local: F64, offset: int) -> F64:
    p = np.roll(np.asarray(profile_local, dtype=np.float64), -offset)
    return np.asarray(p / p.sum(), dtype=np.float64)


def user_profile(w: World, day: int) -> F64:
    """Hourly (UTC) distribution of workstation activity on ``day``."""
    weekend = (w.cfg.start_date + dt.timedelta(days=day)).weekday() >= 5
    return _utc(_USER_WEEKEND if weekend else _USER_WEEKDAY, w.cfg.utc_offset_hours)


def times(rng: np.random.Generator, n: int, day0: int, profile: F64) -> I64:
    """``n`` start times on the day beginning at ``day0`` (µs), hours drawn from ``profile``."""
    hours = rng.choice(24, n, p=profile)
    return np.asarray(day0 + hours * HOUR + rng.integers(0, HOUR, n), dtype=np.int64)


def _cap_failures(b: FlowBatch, cap: int, exempt: npt.NDArray[np.int32]) -> FlowBatch:
    """Drop a source's failed flows beyond ``cap`` in the day (keeps background below
    ``syn_only_min_flows`` whatever the volume)."""
    failed = np.isin(b.state, [STATE[s] for s in FAILED_STATES]) & ~np.isin(b.src, exempt)
    idx = np.nonzero(failed)[0]
    if idx.size == 0:
        return b
    order = idx[np.argsort(b.src[idx], kind="stable")]
    s = b.src[order]
    first = np.r_[True, s[1:] != s[:-1]]
    pos = np.arange(s.size)
    rank = pos - np.maximum.accumulate(np.where(first, pos, 0))
    keep = np.ones(len(b), dtype=bool)
    keep[order[rank >= cap]] = False
    return b.take(keep)


def background_day(w: World, day: int) -> FlowBatch:
    """All background flows starting on ``day`` (unsorted)."""
    cfg = w.cfg
    rng = rng_for(cfg.seed, "background", day)
    weekend = (cfg.start_date + dt.timedelta(days=day)).weekday() >= 5
    day0 = day_start_us(cfg, day)
    n_day = cfg.flows_per_day
    uf = cfg.weekend_factor if weekend else 1.0
    sf = 0.8 if weekend else 1.0
    off = cfg.utc_offset_hours
    p_user = user_profile(w, day)
    p_server = _utc(np.ones(24) * 4 + (_USER_WEEKEND if weekend else _USER_WEEKDAY), off)
    p_inbound = _utc(_INBOUND, off)
    h = w.idx
    users, nu = w.users, len(w.users)
    no6 = np.zeros(0, dtype=bool)

    def count(share: float, factor: float) -> int:
        return int(round(n_day * share * factor))

    def pick_users(n: int) -> npt.NDArray[np.int64]:
        return rng.choice(nu, n, p=w.user_weight)

    def v4(n: int) -> npt.NDArray[np.bool_]:
        return np.zeros(n, dtype=bool) if n else no6

    parts: list[FlowBatch] = []
    ws_ports = (49152, 65536)
    # No single flow from outside may carry more than 1/20 of the ingress-peak floor: a host
    # needs many flows to reach it, and many flows a day make steady daily totals.
    ingress_cap = min(2e6, cfg.thresholds.ingress_peak_min_bytes / 20)

    # Workstations -> proxy (web browsing), and the proxy's own outbound connections.
    n = count(0.22, uf)
    u = pick_users(n)
    ts = times(rng, n, day0, p_user)
    st = draw_states(rng, n, {"RSTO": 0.005, "RSTR": 0.005, "S1": 0.003, "REJ": 0.002})
    parts.append(tcp(rng, ts, users[u], h("proxy01"), 3128, "http", v6=v4(n), states=st,
                     orig=(900, 1.0), resp=(18_000, 1.5), dur=(1.5, 1.4), cap=3e6,
                     sport_range=ws_ports))
    sel = (rng.random(n) < 0.75) & (st != STATE["REJ"])
    k = int(sel.sum())
    https = rng.random(k) < 0.82
    parts.append(tcp(
        rng, ts[sel] + rng.integers(2_000, 60_000, k), h("proxy01"),
        rng.choice(w.pools["web"], k, p=w.weights["web"]), np.where(https, 443, 80),
        np.where(https, SERVICE["ssl"], SERVICE["http"]), v6=v4(k),
        states=draw_states(rng, k, {"S0": 0.006, "RSTR": 0.005, "REJ": 0.002}),
        orig=(900, 1.0), resp=(18_000, 1.5), dur=(1.5, 1.4), cap=3e6))

    # Workstations -> resolver, and the resolver's queries for cache misses.
    n = count(0.14, uf)
    u = pick_users(n)
    ts = times(rng, n, day0, p_user)
    parts.append(udp(rng, ts, users[u], h("ns01"), 53, "dns", v6=v4(n),
                     answered=rng.random(n) > 0.004, orig=(38, 0.2), resp=(110, 0.6),
                     dur=(0.004, 1.0)))
    sel = rng.random(n) < 0.35
    k = int(sel.sum())
    parts.append(udp(rng, ts[sel] + rng.integers(300, 3_000, k), h("ns01"),
                     rng.choice(w.pools["dns"], k, p=w.weights["dns"]), 53, "dns", v6=v4(k),
                     answered=rng.random(k) > 0.012, orig=(45, 0.2), resp=(160, 0.7),
                     dur=(0.03, 0.8)))

    # Logons and directory lookups to the domain controllers.
    n = count(0.06, uf)
    u = pick_users(n)
    port = rng.choice(np.array([88, 389, 445, 135]), n, p=[0.4, 0.3, 0.2, 0.1])
    svc = np.select([port == 88, port == 389, port == 445],
                    [SERVICE["krb_tcp"], SERVICE["ldap_tcp"], SERVICE["gssapi,smb"]],
                    SERVICE["dce_rpc"])
    dc = np.where(rng.random(n) < 0.6, h("dc01"), h("dc02"))
    parts.append(tcp(rng, times(rng, n, day0, p_user), users[u], dc, port, svc, v6=v4(n),
                     states=draw_states(rng, n, {"RSTR": 0.003}), orig=(1400, 0.6),
                     resp=(1800, 0.8), dur=(0.05, 1.0), sport_range=ws_ports))

    # File shares, mail clients, intranet apps, time.
    n = count(0.03, uf)
    parts.append(tcp(rng, times(rng, n, day0, p_user), users[pick_users(n)], h("files01"), 445,
                     "gssapi,smb", v6=v4(n), states=draw_states(rng, n, {"RSTO": 0.004}),
                     orig=(20_000, 2.0), resp=(150_000, 2.0), dur=(30.0, 1.5), cap=50e6,
                     sport_range=ws_ports))
    n = count(0.02, uf)
    imap = rng.random(n) < 0.8
    parts.append(tcp(rng, times(rng, n, day0, p_user), users[pick_users(n)], h("mail01"),
                     np.where(imap, 993, 587), np.where(imap, SERVICE["ssl"], SERVICE["smtp"]),
                     v6=v4(n), states=draw_states(rng, n, {"RSTR": 0.004}), orig=(1500, 1.0),
                     resp=(30_000, 1.5), dur=(5.0, 1.2), sport_range=ws_ports))
    n = count(0.04, uf)
    u = pick_users(n)
    app = w.user_apps[u, (rng.random(n) * w.user_apps_k[u]).astype(np.int64)]
    parts.append(tcp(rng, times(rng, n, day0, p_user), users[u], app, 443, "ssl", v6=v4(n),
                     states=draw_states(rng, n, {"RSTO": 0.004, "RSTR": 0.003}),
                     orig=(1200, 0.8), resp=(25_000, 1.3), dur=(2.0, 1.2),
                     sport_range=ws_ports))
    n = count(0.01, uf)
    parts.append(udp(rng, times(rng, n, day0, p_user), users[pick_users(n)], h("ntp01"), 123,
                     "ntp", v6=v4(n), answered=np.ones(n, bool), orig=(48, 0), resp=(48, 0),
                     dur=(0.001, 0.5), sport=123))

    # Direct SaaS/CDN connections, some over IPv6, and the odd ping.
    n = count(0.09, uf)
    u = pick_users(n)
    ts = times(rng, n, day0, p_user)
    dst = w.personal[u, (rng.random(n) * w.personal_k[u]).astype(np.int64)]
    src = users[u]
    six = (w.users6[u] >= 0) & (rng.random(n) < 0.3)
    src = np.where(six, w.users6[u], src)
    dst = np.where(six, w.personal6[u, (rng.random(n) * w.personal6_k[u]).astype(np.int64)], dst)
    parts.append(tcp(rng, ts, src, dst, 443, "ssl", v6=six,
                     states=draw_states(rng, n, {"S0": 0.008, "REJ": 0.004, "RSTO": 0.004,
                                                 "RSTR": 0.004}),
                     orig=(1500, 1.0), resp=(25_000, 1.3), dur=(3.0, 1.3), cap=ingress_cap,
                     sport_range=ws_ports))
    n = count(0.003, uf)
    u = pick_users(n)
    parts.append(icmp_echo(rng, times(rng, n, day0, p_user), users[u],
                           w.personal[u, (rng.random(n) * w.personal_k[u]).astype(np.int64)],
                           answered=rng.random(n) < 0.9, pkts=4))

    # The public web site and API: many external clients, some over IPv6.
    wf = 0.7 if weekend else 1.0
    n = count(0.06, wf)
    six = rng.random(n) < 0.15
    src = np.where(six, rng.choice(w.pools["clients6"], n),
                   rng.choice(w.pools["clients"], n, p=w.weights["clients"]))
    dst = np.where(six, h("www-v6"), np.where(rng.random(n) < 0.7, h("www"), h("api")))
    https = rng.random(n) < 0.9
    parts.append(tcp(rng, times(rng, n, day0, p_inbound), src, dst, np.where(https, 443, 80),
                     np.where(https, SERVICE["ssl"], SERVICE["http"]), v6=six,
                     states=draw_states(rng, n, {"RSTO": 0.01, "RSTR": 0.006, "S0": 0.002}),
                     orig=(900, 0.8), resp=(35_000, 1.4), dur=(1.0, 1.3), cap=2e6))
    n = count(0.03, wf)
    front = rng.random(n) < 0.6
    back = np.where(front, np.where(rng.random(n) < 0.5, h("app01"), h("app02")),
                    np.where(rng.random(n) < 0.5, h("app03"), h("finance-app")))
    parts.append(tcp(rng, times(rng, n, day0, p_inbound), np.where(front, h("www"), h("api")),
                     back, 8443, "ssl", v6=v4(n), states=draw_states(rng, n, {"RSTR": 0.002}),
                     orig=(1200, 0.8), resp=(20_000, 1.2), dur=(0.3, 1.0)))

    # App tier -> databases.
    n = count(0.04, sf)
    apps = np.array([h("app01"), h("app02"), h("app03"), h("finance-app")])
    src = rng.choice(apps, n)
    dst = np.where((src == h("finance-app")) | (rng.random(n) < 0.6), h("db01"), h("db02"))
    parts.append(tcp(rng, times(rng, n, day0, p_server), src, dst, 5432, "postgresql",
                     v6=v4(n), states=draw_states(rng, n, {"RSTO": 0.002}), orig=(600, 1.0),
                     resp=(6000, 1.5), dur=(0.2, 1.2)))

    # Servers use the internal resolver and time server.
    servers = np.concatenate([w.monitored, [h("mon01")]]).astype(np.int32)
    n = count(0.02, sf)
    src = rng.choice(servers, n)
    dns = rng.random(n) < 0.7
    src = np.where(dns & (src == h("ns01")), h("ntp01"), src)
    src = np.where(~dns & (src == h("ntp01")), h("ns01"), src)
    ts = times(rng, n, day0, p_server)
    parts.append(udp(rng, ts[dns], src[dns], h("ns01"), 53, "dns", v6=v4(int(dns.sum())),
                     answered=np.ones(int(dns.sum()), bool), orig=(40, 0.2), resp=(120, 0.6),
                     dur=(0.002, 1.0)))
    k = int((~dns).sum())
    parts.append(udp(rng, ts[~dns], src[~dns], h("ntp01"), 123, "ntp", v6=v4(k),
                     answered=np.ones(k, bool), orig=(48, 0), resp=(48, 0), dur=(0.001, 0.5),
                     sport=123))

    # The NTP server polls a rotating set of public time servers.
    n = max(40, count(0.005, 1.0))
    todays = np.roll(w.pools["ntp"], -5 * day)[:12]
    parts.append(udp(rng, times(rng, n, day0, _utc(np.ones(24), 0)), h("ntp01"),
                     rng.choice(todays, n), 123, "ntp", v6=v4(n),
                     answered=rng.random(n) < 0.995, orig=(48, 0), resp=(48, 0),
                     dur=(0.02, 0.5), sport=123))

    # Mail in and out of the DMZ relay.
    n = count(0.01, sf)
    parts.append(tcp(rng, times(rng, n, day0, p_server),
                     rng.choice(w.pools["mail_in"], n, p=w.weights["mail_in"]), h("mail01"), 25,
                     "smtp", v6=v4(n), states=draw_states(rng, n, {"RSTR": 0.01}),
                     orig=(25_000, 1.5), resp=(900, 0.4), dur=(2.0, 1.0), cap=ingress_cap))
    n = count(0.005, max(uf, 0.3))
    parts.append(tcp(rng, times(rng, n, day0, p_user), h("mail01"),
                     rng.choice(w.pools["mx_out"], n), 25, "smtp", v6=v4(n),
                     states=draw_states(rng, n, {"RSTR": 0.01}), orig=(25_000, 1.5),
                     resp=(900, 0.4), dur=(2.0, 1.0), cap=2e6))

    # Monitoring: pings and NRPE checks of every server, all day.
    n = max(2 * len(w.monitored), count(0.01, 1.0))
    dst = rng.choice(w.monitored, n)
    ping = rng.random(n) < 0.6
    ts = times(rng, n, day0, _utc(np.ones(24), 0))
    parts.append(icmp_echo(rng, ts[ping], h("mon01"), dst[ping],
                           answered=np.ones(int(ping.sum()), bool)))
    k = int((~ping).sum())
    parts.append(tcp(rng, ts[~ping], h("mon01"), dst[~ping], 5666, "ssl", v6=v4(k),
                     states=np.full(k, STATE["SF"], np.int8), orig=(300, 0.3),
                     resp=(600, 0.5), dur=(0.05, 0.7)))

    # Nightly backups pull from the servers (01:00-04:00 UTC).
    k = len(w.backup_targets)
    parts.append(tcp(rng, day0 + HOUR + rng.integers(0, 3 * HOUR, k), h("backup01"),
                     w.backup_targets, 9102, "-", v6=v4(k),
                     states=np.full(k, STATE["SF"], np.int8), orig=(4000, 0.5),
                     resp=(30e6, 1.0), dur=(600.0, 0.8), cap=400e6))

    # Internet noise: lone probes at a few DMZ addresses each; nothing listens there.
    n = count(0.005, 1.0)
    pick = rng.integers(0, len(w.pools["noise"]), n)
    dst = w.noise_targets[pick, rng.integers(0, 3, n)]
    live = np.isin(dst, np.array(list(w.open_ports), dtype=np.int32))
    st = np.where(live & (rng.random(n) < 0.5), STATE["REJ"], STATE["S0"]).astype(np.int8)
    parts.append(tcp(rng, times(rng, n, day0, _utc(np.ones(24), 0)), w.pools["noise"][pick],
                     dst, rng.choice(_NOISE_PORTS, n), "-", v6=v4(n), states=st,
                     orig=(1, 0), resp=(1, 0), dur=(0.1, 0), syn=44))

    # Partners drop files on the SFTP server on weekdays (small: below the ingress floor).
    if not weekend:
        k = int(rng.integers(2, 7))
        cap = cfg.thresholds.ingress_peak_min_bytes / 8
        parts.append(tcp(rng, times(rng, k, day0, p_user), rng.choice(w.pools["partners"], k),
                         h("sftp01"), 22, "ssh", v6=v4(k), states=np.full(k, STATE["SF"], np.int8),
                         orig=(cap / 3, 0.5), resp=(9_000, 0.4), dur=(20.0, 0.6), cap=cap))

    batch = FlowBatch.concat(parts)
    # Relayed flows (proxy, resolver) follow their trigger by milliseconds: keep them in the day.
    np.minimum(batch.ts, day0 + DAY - 1, out=batch.ts)
    cap_fail = max(1, cfg.thresholds.syn_only_min_flows // 4)
    return _cap_failures(batch, cap_fail, np.array([h("proxy01"), h("ns01")], dtype=np.int32))
