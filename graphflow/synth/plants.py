"""What a planted scenario hands over, and the small flow builders scenarios share.

A scenario function returns :class:`Plant` objects: its flows (per day), what it stands for
(a positive, a near-miss or a lookalike), and which addresses the audit should keep flows of
so that the figures can be measured on what was written.

Examples
--------
>>> from graphflow.synth.model import GeneratorConfig
>>> from graphflow.synth.network import build_world
>>> w = build_world(GeneratorConfig(days=8, flows_per_day=500))
>>> rng = np.random.default_rng(0)
>>> src = w.new_external(rng)[0]
>>> b = probe_flows(rng, w, burst(rng, 0, 3), src, [w.idx("www"), w.idx("www"), w.dmz_all[99]],
...                 [443, 23, 23])
>>> from graphflow.synth.flows import STATES
>>> [STATES[s] for s in b.state]
['RSTO', 'REJ', 'S0']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from graphflow.synth.background import HOUR, day_start_us
from graphflow.synth.flows import HIST, SERVICE, STATE, FlowBatch, tcp
from graphflow.synth.network import World

__all__ = [
    "TOP_PORTS",
    "Plant",
    "burst",
    "day_t0",
    "failing_ports",
    "is_live",
    "ports_open",
    "probe_flows",
    "split",
    "start_in_day",
]

#: Ports scanners try first (nmap's most common TCP ports, roughly in order).
TOP_PORTS: tuple[int, ...] = (
    80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995,
    993, 5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179,
    1026, 2000, 8443, 8000, 32768, 554, 26, 1433, 49152, 2001, 515, 8008, 49154, 1027, 5666,
    646, 5000, 5631, 631, 49153, 8081, 2049, 88, 79, 5800, 106, 2121, 1110, 49155, 6000, 513,
    990, 5357, 427, 49156, 543, 544, 5101, 144, 7, 389, 8009, 3128, 444, 9999, 5009, 7070,
    5190, 3000, 5432, 1900, 3986, 13, 1029, 9, 5051, 6646, 49157, 1028, 873, 1755, 2717, 4899,
    9100, 119, 37,
)


@dataclass
class Plant:
    """One planted thing: its flows, and what the ground truth should say about it."""

    group: str  #: "positive", "near_miss" or "lookalike"
    analysis: str  #: analysis name (positives, near-misses) or lookalike kind
    entity: int | str  #: address index, or a prefix (``a.b.c.0/24``) for groups
    members: list[int] = field(default_factory=list)
    flows: list[FlowBatch] = field(default_factory=list)
    threshold: str = ""  #: near-misses: the threshold they stay under
    mimics: list[str] = field(default_factory=list)
    why: str = ""
    facts: dict[str, Any] = field(default_factory=dict)
    watch: list[int] = field(default_factory=list)
    #: Days the ground truth names (default: the days of ``flows``).
    days: list[int] | None = None


def day_t0(w: World, day: int) -> int:
    return day_start_us(w.cfg, day)


def burst(rng: np.random.Generator, t0: int, n: int, gap_ms: tuple[int, int] = (20, 2000)
          ) -> npt.NDArray[np.int64]:
    """``n`` increasing start times from ``t0`` (µs), a few ms to seconds apart."""
    gaps = rng.integers(gap_ms[0] * 1000, gap_ms[1] * 1000, n)
    return np.asarray(t0 + np.cumsum(gaps) - gaps[0], dtype=np.int64)


def start_in_day(rng: np.random.Generator, w: World, day: int, hours: tuple[int, int] = (0, 20)
                 ) -> int:
    """A random start time on ``day`` between the given UTC hours."""
    return day_t0(w, day) + int(rng.integers(hours[0] * HOUR, hours[1] * HOUR))


def split(rng: np.random.Generator, items: npt.NDArray[Any], parts: int) -> list[npt.NDArray[Any]]:
    """``items`` cut into ``parts`` non-empty, nearly equal groups (shuffled first)."""
    shuffled = rng.permutation(items)
    return [np.asarray(p) for p in np.array_split(shuffled, parts)]


def ports_open(w: World, host: int) -> tuple[int, ...]:
    if host in w.open_ports:
        return w.open_ports[host]
    if w.role_of.get(host) == "workstation":
        return (135, 445)
    return ()


def is_live(w: World, host: int) -> bool:
    return (host in w.open_ports and w.role_of.get(host) != "firewall") or \
        w.role_of.get(host) == "workstation"


def failing_ports(w: World, host: int, rng: np.random.Generator, n: int) -> list[int]:
    """``n`` distinct ports that are closed (or filtered) on ``host``."""
    closed = [p for p in TOP_PORTS if p not in ports_open(w, host)]
    if n > len(closed):
        closed += [p for p in range(10_000, 10_000 + n) if p not in ports_open(w, host)]
    return [int(p) for p in rng.choice(closed, n, replace=False)]


def probe_flows(rng: np.random.Generator, w: World, ts: npt.ArrayLike, src: int,
                dst: npt.ArrayLike, dport: npt.ArrayLike, syn: int = 44,
                sport: int | None = None) -> FlowBatch:
    """SYN probes and what a real network answers: ``RSTO``/``ShR`` (SYN-ACK, then the scanner's
    RST) on an open port, ``REJ`` on a closed port of a live host, ``S0`` elsewhere."""
    tsa = np.asarray(ts, dtype=np.int64)
    n = tsa.size
    dsta = np.broadcast_to(np.asarray(dst), (n,)).astype(np.int32)
    ports = np.broadcast_to(np.asarray(dport), (n,)).astype(np.int32)
    live = np.array([is_live(w, int(d)) for d in dsta], dtype=bool)
    openp = np.array([int(p) in ports_open(w, int(d)) for d, p in zip(dsta, ports, strict=True)],
                     dtype=bool)
    state = np.where(live & openp, STATE["RSTO"], np.where(live, STATE["REJ"], STATE["S0"]))
    b = tcp(rng, tsa, src, dsta, ports, "-", v6=np.zeros(n, bool),
            states=np.where(state == STATE["RSTO"], STATE["SF"], state).astype(np.int8),
            orig=(1, 0), resp=(1, 0), dur=(0.001, 0), syn=syn,
            sport=np.full(n, sport) if sport is not None else None)
    o = state == STATE["RSTO"]
    b.state[o] = STATE["RSTO"]
    b.history[o] = HIST["ShR"]
    b.service[o] = SERVICE["-"]
    b.orig_pkts[o], b.resp_pkts[o] = 2, 1
    b.orig_bytes[o], b.resp_bytes[o] = 0, 0
    b.orig_ip_bytes[o], b.resp_ip_bytes[o] = syn + 40, 44
    b.duration[o] = rng.integers(200, 90_000, int(o.sum()))
    return b
