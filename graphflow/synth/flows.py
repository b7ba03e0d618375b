"""Flows as numpy columns, and the vectorised shaping of Zeek-consistent counters.

A :class:`FlowBatch` holds one column per Zeek conn.log field, with addresses as indices into
the generator's address book and strings (proto, service, conn_state, history) as indices into
the vocabularies below. The shaping functions fill the counters so that ``conn_state``,
``history``, packets and bytes agree the way Zeek reports them:

* ``S0`` (SYN, no answer): history ``S``, ``resp_pkts`` 0; a single packet leaves duration and
  payload counters unset (``-``), as Zeek does when the connection has no duration.
* ``REJ``: history ``Sr``, one packet each way, payload 0.
* ``SF``: a full handshake, data both ways and FINs (``ShADadFf`` and close variants).
* ``S1``/``RSTO``/``RSTR``: established, then left open or reset by one side.
* UDP: ``SF`` with history ``Dd`` when answered, ``S0`` with ``D`` when not.
* ICMP: Zeek puts the type in ``orig_p`` and the code in ``resp_p``; state ``OTH``.

IP-level byte counts are the payload plus a per-packet header: 52 bytes for TCP over IPv4
(with timestamps), 60 over IPv6, 28/48 for UDP and ICMP.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> b = tcp(rng, np.array([0, 1]), np.array([1, 1]), np.array([2, 3]), np.array([22, 22]),
...         "ssh", v6=np.array([False, False]),
...         states=np.array([STATE["SF"], STATE["S0"]], dtype=np.int8),
...         orig=(1000, 0.0), resp=(2000, 0.0), dur=(1.0, 0.0))
>>> [STATES[s] for s in b.state], [HISTORIES[h] for h in b.history]
(['SF', 'S0'], ['ShADadFf', 'S'])
>>> int(b.orig_ip_bytes[0]) == int(b.orig_bytes[0]) + 52 * int(b.orig_pkts[0])
True
>>> int(b.resp_pkts[1]), int(b.resp_ip_bytes[1])
(0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FAILED_STATES",
    "HISTORIES",
    "PROTO",
    "PROTOS",
    "SERVICE",
    "SERVICES",
    "STATE",
    "STATES",
    "FlowBatch",
    "draw_states",
    "exact_tcp",
    "icmp_echo",
    "tcp",
    "udp",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

PROTOS: tuple[str, ...] = ("tcp", "udp", "icmp")
SERVICES: tuple[str, ...] = (
    "-", "http", "ssl", "dns", "ntp", "smtp", "ssh", "krb_tcp", "ldap_tcp", "gssapi,smb",
    "dce_rpc", "postgresql",
)
STATES: tuple[str, ...] = ("SF", "S0", "REJ", "S1", "RSTO", "RSTR", "OTH")
HISTORIES: tuple[str, ...] = (
    "ShADadFf", "ShADadfF", "ShADdaFf", "ShADad", "ShADadR", "ShADadr", "S", "Sr", "ShR",
    "Dd", "D", "-",
)
PROTO = {p: i for i, p in enumerate(PROTOS)}
SERVICE = {s: i for i, s in enumerate(SERVICES)}
STATE = {s: i for i, s in enumerate(STATES)}
HIST = {h: i for i, h in enumerate(HISTORIES)}

#: States that mean "the responder never took part": what the scan analyses count as failed.
FAILED_STATES: tuple[str, ...] = ("S0", "REJ")

MSS = 1448
SEC = 1_000_000  # microseconds per second


@dataclass
class FlowBatch:
    """Flows as columns. Addresses are address-book indices; ``-1`` marks an unset counter."""

    ts: I64  #: start, epoch microseconds (UTC)
    src: I32
    dst: I32
    sport: I32
    dport: I32
    proto: I8
    service: I8
    state: I8
    history: I8
    duration: I64  #: microseconds, -1 = unset
    orig_bytes: I64  #: payload, -1 = unset
    resp_bytes: I64
    orig_pkts: I64
    orig_ip_bytes: I64
    resp_pkts: I64
    resp_ip_bytes: I64

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def take(self, idx: npt.NDArray[Any] | slice) -> FlowBatch:
        """Rows at ``idx`` (an index or boolean mask), as a new batch."""
        return FlowBatch(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(batches: list[FlowBatch]) -> FlowBatch:
        """Rows of all ``batches`` in order (an empty list gives an empty batch)."""
        if not batches:
            return empty_batch()
        return FlowBatch(**{
            f.name: np.concatenate([getattr(b, f.name) for b in batches])
            for f in fields(FlowBatch)
        })

    def sorted_by_time(self) -> FlowBatch:
        """Rows ordered by start time; ties keep their order (deterministic)."""
        return self.take(np.argsort(self.ts, kind="stable"))


def empty_batch() -> FlowBatch:
    z64 = np.zeros(0, np.int64)
    z32 = np.zeros(0, np.int32)
    z8 = np.zeros(0, np.int8)
    return FlowBatch(z64, z32, z32, z32, z32, z8, z8, z8, z8, z64, z64, z64, z64, z64, z64, z64)


def draw_states(rng: np.random.Generator, n: int, probs: dict[str, float]) -> I8:
    """``n`` conn_state codes drawn with the given probabilities (the rest is ``SF``).

    >>> s = draw_states(np.random.default_rng(1), 1000, {"S0": 0.1})
    >>> 50 < int((s == STATE["S0"]).sum()) < 150
    True
    """
    names = list(probs)
    p = np.array([probs[k] for k in names], dtype=np.float64)
    cum = np.cumsum(p)
    u = rng.random(n)
    out = np.full(n, STATE["SF"], dtype=np.int8)
    pos = np.searchsorted(cum, u, side="right")
    for i, name in enumerate(names):
        out[pos == i] = STATE[name]
    return out


def _lognormal(rng: np.random.Generator, n: int, median: float, sigma: float) -> F64:
    if sigma <= 0:
        return np.full(n, float(median))
    return np.asarray(rng.lognormal(np.log(median), sigma, n), dtype=np.float64)


def _as(values: npt.ArrayLike, dtype: type[Any], n: int) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    return arr.astype(dtype, copy=False)


def _ports(rng: np.random.Generator, n: int, lo: int, hi: int) -> I32:
    return rng.integers(lo, hi, n).astype(np.int32)


def tcp(rng: np.random.Generator, ts: npt.ArrayLike, src: npt.ArrayLike, dst: npt.ArrayLike,
        dport: npt.ArrayLike, service: str | npt.ArrayLike, *, v6: Bool, states: I8,
        orig: tuple[float, float], resp: tuple[float, float], dur: tuple[float, float],
        cap: float = 2e6, syn: int = 60, sport: npt.ArrayLike | None = None,
        sport_range: tuple[int, int] = (32768, 61000)) -> FlowBatch:
    """TCP flows whose counters agree with their ``states``.

    ``orig``/``resp``/``dur`` are (median, sigma) of log-normal payloads (bytes, capped at
    ``cap``) and durations (seconds) for the established ones; ``syn`` is the IPv4 size of an
    unanswered SYN (60 for Linux/Windows stacks, 44 for scanners such as nmap).
    """
    tsa = np.asarray(ts, dtype=np.int64)
    n = int(tsa.shape[0])
    ob = np.clip(np.rint(_lognormal(rng, n, orig[0], orig[1])), 1, cap).astype(np.int64)
    rb = np.clip(np.rint(_lognormal(rng, n, resp[0], resp[1])), 1, cap).astype(np.int64)
    rst = (states == STATE["RSTO"]) | (states == STATE["RSTR"])
    rb = np.where(rst, np.maximum(1, (rb * rng.uniform(0.05, 0.8, n)).astype(np.int64)), rb)
    od = -(-ob // MSS)
    rd = -(-rb // MSS)
    opk = 3 + od + rd // 2
    rpk = 2 + rd + od // 2
    opk = opk - (states == STATE["S1"]) - (states == STATE["RSTR"])
    rpk = rpk - (states == STATE["S1"]) - (states == STATE["RSTO"])
    hdr = np.where(v6, 60, 52)
    duration = np.maximum(1, (_lognormal(rng, n, dur[0], dur[1]) * SEC).astype(np.int64))
    sf_hist = rng.choice(np.array([HIST["ShADadFf"], HIST["ShADadfF"], HIST["ShADdaFf"]]), n,
                         p=[0.6, 0.25, 0.15]).astype(np.int8)
    hist = np.select(
        [states == STATE["S1"], states == STATE["RSTO"], states == STATE["RSTR"],
         states == STATE["S0"], states == STATE["REJ"]],
        [HIST["ShADad"], HIST["ShADadR"], HIST["ShADadr"], HIST["S"], HIST["Sr"]],
        sf_hist).astype(np.int8)
    # Failed attempts: no payload, SYN (and retransmissions) only, or SYN + RST.
    s0 = states == STATE["S0"]
    rej = states == STATE["REJ"]
    syn_pkts = rng.choice(np.array([1, 2, 3]), n, p=[0.75, 0.2, 0.05])
    syn_size = np.where(v6, syn + 20, syn)
    opk = np.where(s0, syn_pkts, np.where(rej, 1, opk))
    rpk = np.where(s0, 0, np.where(rej, 1, rpk))
    failed = s0 | rej
    oip = np.where(failed, opk * syn_size, ob + opk * hdr)
    rip = np.where(s0, 0, np.where(rej, np.where(v6, 60, 40), rb + rpk * hdr))
    single = s0 & (syn_pkts == 1)
    ob = np.where(single, -1, np.where(failed, 0, ob))
    rb = np.where(single, -1, np.where(failed, 0, rb))
    retrans = np.where(syn_pkts == 2, 1 * SEC, 3 * SEC) + rng.integers(0, 5000, n)
    rej_dur = rng.integers(40, 900, n)
    duration = np.where(single, -1, np.where(s0, retrans, np.where(rej, rej_dur, duration)))
    svc = _as(SERVICE[service] if isinstance(service, str) else service, np.int8, n)
    svc = np.where(failed, SERVICE["-"], svc).astype(np.int8)
    sp = (_ports(rng, n, *sport_range) if sport is None else _as(sport, np.int32, n))
    return FlowBatch(
        ts=tsa, src=_as(src, np.int32, n), dst=_as(dst, np.int32, n), sport=sp,
        dport=_as(dport, np.int32, n), proto=np.full(n, PROTO["tcp"], np.int8), service=svc,
        state=states.astype(np.int8), history=hist, duration=duration.astype(np.int64),
        orig_bytes=ob.astype(np.int64), resp_bytes=rb.astype(np.int64),
        orig_pkts=opk.astype(np.int64), orig_ip_bytes=oip.astype(np.int64),
        resp_pkts=rpk.astype(np.int64), resp_ip_bytes=rip.astype(np.int64),
    )


def exact_tcp(ts: npt.ArrayLike, src: npt.ArrayLike, dst: npt.ArrayLike,
              dport: npt.ArrayLike, service: str, *, orig_ip: npt.ArrayLike,
              resp_ip: npt.ArrayLike, dur_s: npt.ArrayLike, sport: npt.ArrayLike,
              v6: bool = False) -> FlowBatch:
    """Established ``SF`` TCP flows with exactly the given IP-level byte totals per direction.

    Packets are sized close to a full segment, so the payload is ``ip_bytes - pkts * header``.

    >>> b = exact_tcp([0], [1], [2], [22], "ssh", orig_ip=[1_000_000], resp_ip=[50_000],
    ...               dur_s=[30.0], sport=[40000])
    >>> int(b.orig_ip_bytes[0]), int(b.orig_bytes[0]) + 52 * int(b.orig_pkts[0])
    (1000000, 1000000)
    """
    tsa = np.asarray(ts, dtype=np.int64)
    n = int(tsa.shape[0])
    hdr = 60 if v6 else 52
    oip = _as(orig_ip, np.int64, n)
    rip = _as(resp_ip, np.int64, n)
    opk = -(-oip // 1500) + 4
    rpk = -(-rip // 1500) + 4
    return FlowBatch(
        ts=tsa, src=_as(src, np.int32, n), dst=_as(dst, np.int32, n),
        sport=_as(sport, np.int32, n), dport=_as(dport, np.int32, n),
        proto=np.full(n, PROTO["tcp"], np.int8), service=np.full(n, SERVICE[service], np.int8),
        state=np.full(n, STATE["SF"], np.int8), history=np.full(n, HIST["ShADadFf"], np.int8),
        duration=(_as(dur_s, np.float64, n) * SEC).astype(np.int64),
        orig_bytes=oip - opk * hdr, resp_bytes=rip - rpk * hdr, orig_pkts=opk,
        orig_ip_bytes=oip, resp_pkts=rpk, resp_ip_bytes=rip,
    )


def udp(rng: np.random.Generator, ts: npt.ArrayLike, src: npt.ArrayLike, dst: npt.ArrayLike,
        dport: npt.ArrayLike, service: str, *, v6: Bool, answered: Bool,
        orig: tuple[float, float], resp: tuple[float, float], dur: tuple[float, float],
        sport: npt.ArrayLike | None = None) -> FlowBatch:
    """UDP request/response flows: ``SF``/``Dd`` when answered, ``S0``/``D`` when not.

    >>> b = udp(np.random.default_rng(0), [0, 1], [1, 1], [2, 2], 53, "dns",
    ...         v6=np.array([False, False]), answered=np.array([True, False]),
    ...         orig=(40, 0), resp=(120, 0), dur=(0.01, 0))
    >>> [STATES[s] for s in b.state], [int(x) for x in b.resp_ip_bytes]
    (['SF', 'S0'], [148, 0])
    """
    tsa = np.asarray(ts, dtype=np.int64)
    n = int(tsa.shape[0])
    ob = np.maximum(8, np.rint(_lognormal(rng, n, orig[0], orig[1]))).astype(np.int64)
    rb = np.maximum(8, np.rint(_lognormal(rng, n, resp[0], resp[1]))).astype(np.int64)
    hdr = np.where(v6, 48, 28)
    opk = np.ones(n, np.int64)
    rpk = np.where(answered, 1, 0)
    duration = np.maximum(1, (_lognormal(rng, n, dur[0], dur[1]) * SEC).astype(np.int64))
    sp = _ports(rng, n, 1024, 65535) if sport is None else _as(sport, np.int32, n)
    return FlowBatch(
        ts=tsa, src=_as(src, np.int32, n), dst=_as(dst, np.int32, n), sport=sp,
        dport=_as(dport, np.int32, n), proto=np.full(n, PROTO["udp"], np.int8),
        service=np.full(n, SERVICE[service], np.int8),
        state=np.where(answered, STATE["SF"], STATE["S0"]).astype(np.int8),
        history=np.where(answered, HIST["Dd"], HIST["D"]).astype(np.int8),
        duration=np.where(answered, duration, -1).astype(np.int64),
        orig_bytes=np.where(answered, ob, -1).astype(np.int64),
        resp_bytes=np.where(answered, rb, -1).astype(np.int64),
        orig_pkts=opk, orig_ip_bytes=(ob + hdr).astype(np.int64), resp_pkts=rpk.astype(np.int64),
        resp_ip_bytes=np.where(answered, rb + hdr, 0).astype(np.int64),
    )


def icmp_echo(rng: np.random.Generator, ts: npt.ArrayLike, src: npt.ArrayLike,
              dst: npt.ArrayLike, *, answered: Bool, pkts: int = 1) -> FlowBatch:
    """ICMP echo request (type 8 in ``orig_p``, code 0 in ``resp_p``), state ``OTH``.

    >>> b = icmp_echo(np.random.default_rng(0), [0], [1], [2], answered=np.array([True]))
    >>> int(b.sport[0]), int(b.dport[0]), PROTOS[b.proto[0]], STATES[b.state[0]]
    (8, 0, 'icmp', 'OTH')
    """
    tsa = np.asarray(ts, dtype=np.int64)
    n = int(tsa.shape[0])
    opk = np.full(n, pkts, np.int64)
    rpk = np.where(answered, pkts, 0).astype(np.int64)
    single = (opk + rpk) == 1
    payload = 56
    dur = rng.integers(300, 40_000, n) + (pkts - 1) * SEC
    return FlowBatch(
        ts=tsa, src=_as(src, np.int32, n), dst=_as(dst, np.int32, n),
        sport=np.full(n, 8, np.int32), dport=np.zeros(n, np.int32),
        proto=np.full(n, PROTO["icmp"], np.int8), service=np.full(n, SERVICE["-"], np.int8),
        state=np.full(n, STATE["OTH"], np.int8), history=np.full(n, HIST["-"], np.int8),
        duration=np.where(single, -1, dur).astype(np.int64),
        orig_bytes=np.where(single, -1, opk * payload).astype(np.int64),
        resp_bytes=np.where(single, -1, rpk * payload).astype(np.int64),
        orig_pkts=opk, orig_ip_bytes=opk * (payload + 28), resp_pkts=rpk,
        resp_ip_bytes=rpk * (payload + 28),
    )
