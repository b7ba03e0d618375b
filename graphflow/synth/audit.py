"""Measure what was actually written: the figures of the ground truth, and a self-audit.

Every day's flows pass through :meth:`Audit.add_day` exactly as they are written. The audit
keeps per-(day, source) counters for all addresses and a few period-wide pair sets, so that
figures in ``ground_truth.json`` come from the flows, not from the generator's intentions,
and so that any threshold crossing nobody planted is caught.

Definitions (also written into the ground truth):

* failed flow: ``conn_state`` in :data:`~graphflow.synth.flows.FAILED_STATES` (S0, REJ);
* peers: distinct responders of a source in one UTC day (any port, any protocol);
* ports on a target: distinct responder ports of TCP/UDP flows from one source to one
  responder in a day (ICMP carries type/code, not ports, and is left out);
* low-profile flow: failed, or at most ``scanner_max_pkts`` packets and ``scanner_max_bytes``
  IP bytes over both directions;
* ingress of an own host in a day: IP bytes it received from external addresses
  (``resp_ip_bytes`` of flows it originated, ``orig_ip_bytes`` of flows it answered);
* coordinated group: sources sharing a /24 (IPv4) or /64 (IPv6), whitelisted sources and
  sources that cross a per-source threshold left out; hosts are the own hosts the members
  reach with low-profile flows over the whole period.

Examples
--------
>>> import numpy as np
>>> from graphflow.config import Thresholds
>>> from graphflow.synth.flows import tcp, STATE
>>> a = Audit(["10.0.0.1", "10.0.0.2", "192.0.2.9"], np.array([True, True, False]), 1,
...           Thresholds(), ["2026-03-02"])
>>> b = tcp(np.random.default_rng(0), [0, 1], [2, 2], [0, 1], [22, 22], "ssh",
...         v6=np.zeros(2, bool), states=np.full(2, STATE["S0"], np.int8),
...         orig=(1, 0), resp=(1, 0), dur=(1, 0))
>>> a.add_day(0, b)
>>> a.finish()
>>> int(a.peers[0, 2]), int(a.failed[0, 2]), int(a.own_hosts[2])
(2, 2, 2)
"""

from __future__ import annotations

import ipaddress
from typing import Any

import numpy as np
import numpy.typing as npt

from graphflow.config import Thresholds
from graphflow.synth.flows import FAILED_STATES, PROTO, STATE, FlowBatch

__all__ = ["DEFINITIONS", "Audit"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

DEFINITIONS: dict[str, str] = {
    "day": "UTC calendar day of the flow's start time (ts).",
    "failed_flow": "conn_state S0 or REJ (the responder never took part; no other failure "
                   "states are generated).",
    "peers": "distinct responders (id.resp_h) of a source (id.orig_h) in one day, any port.",
    "peers_on_port": "distinct responders of a source on one responder port in one day.",
    "ports_on_target": "distinct responder ports of TCP/UDP flows from one source to one "
                       "responder in one day (ICMP type/code are not ports).",
    "low_profile_flow": "a failed flow, or one with orig_pkts+resp_pkts <= scanner_max_pkts "
                        "and orig_ip_bytes+resp_ip_bytes <= scanner_max_bytes.",
    "own_hosts": "distinct own addresses (own_networks) a source reached as responders over "
                 "the whole period.",
    "ingress": "per own host and day: resp_ip_bytes of flows it originated to external "
               "addresses plus orig_ip_bytes of flows external addresses originated to it.",
    "coordinated_group": "sources in one /24 (IPv4) or /64 (IPv6); whitelisted sources and "
                         "sources crossing a per-source threshold are left out; hosts = own "
                         "hosts reached by the members' low-profile flows over the period.",
    "policy": "port rules in assets.json apply to established flows (data both ways); "
              "non-routable peers and addresses outside the declared ranges apply to any flow.",
}


def _prefix(ip: str) -> str:
    net = ipaddress.ip_network(f"{ip}/{24 if ':' not in ip else 64}", strict=False)
    return str(net)


class Audit:
    """Per-day counters over every written flow (see the module docstring)."""

    def __init__(self, addrs: list[str], own: npt.NDArray[np.bool_], days: int,
                 thresholds: Thresholds, dates: list[str],
                 watch: set[int] | None = None, hvas: list[int] | None = None) -> None:
        n = len(addrs)
        self.n = n
        self.addrs = addrs
        self.own = own
        self.t = thresholds
        self.dates = dates
        shape = (days, n)
        self.flows = np.zeros(shape, np.int32)
        self.failed = np.zeros(shape, np.int32)
        self.peers = np.zeros(shape, np.int32)
        self.peers_port = np.zeros(shape, np.int32)
        self.in_peers = np.zeros(shape, np.int32)
        self.max_ports = np.zeros(shape, np.int32)
        self.ingress = np.zeros(shape, np.int64)
        self._pairs: list[I64] = []
        self._low: list[I64] = []
        self.watch = np.array(sorted(watch or ()), dtype=np.int32)
        self.watched: list[tuple[int, FlowBatch]] = []
        self.hvas = np.array(sorted(hvas or ()), dtype=np.int32)
        self.hva_ext: list[tuple[int, int, int]] = []
        self.total = 0
        self.pairs: I64 = np.zeros(0, np.int64)
        self.low_pairs: I64 = np.zeros(0, np.int64)
        self.own_hosts: I64 = np.zeros(n, np.int64)
        self.days_active: I64 = np.zeros(n, np.int64)

    def add_day(self, d: int, b: FlowBatch) -> None:
        n = self.n
        self.total += len(b)
        src = b.src.astype(np.int64)
        dst = b.dst.astype(np.int64)
        port = b.dport.astype(np.int64)
        fail = np.isin(b.state, [STATE[s] for s in FAILED_STATES])
        self.flows[d] = np.bincount(src, minlength=n)
        self.failed[d] = np.bincount(src[fail], minlength=n)
        pair = src * n + dst
        upair = np.unique(pair)
        self._pairs.append(upair)
        self.peers[d] = np.bincount(upair // n, minlength=n)
        self.in_peers[d] = np.bincount(upair % n, minlength=n)
        sp, cnt = np.unique(np.unique((src * 65536 + port) * n + dst) // n, return_counts=True)
        np.maximum.at(self.peers_port[d], sp // 65536, cnt.astype(np.int32))
        ported = b.proto != PROTO["icmp"]
        pp, cnt = np.unique(np.unique(pair[ported] * 65536 + port[ported]) // 65536,
                            return_counts=True)
        np.maximum.at(self.max_ports[d], pp // n, cnt.astype(np.int32))
        own_s, own_d = self.own[src], self.own[dst]
        ing = np.zeros(n, dtype=np.float64)  # exact: daily sums stay far below 2**53
        ing += np.bincount(src[own_s & ~own_d], weights=b.resp_ip_bytes[own_s & ~own_d],
                           minlength=n)
        ing += np.bincount(dst[~own_s & own_d], weights=b.orig_ip_bytes[~own_s & own_d],
                           minlength=n)
        self.ingress[d] = np.rint(ing).astype(np.int64)
        t = self.t
        low = fail | (((b.orig_pkts + b.resp_pkts) <= t.scanner_max_pkts)
                      & ((b.orig_ip_bytes + b.resp_ip_bytes) <= t.scanner_max_bytes))
        self._low.append(np.unique(pair[low & own_d]))
        if self.watch.size:
            sel = np.isin(b.src, self.watch) | np.isin(b.dst, self.watch)
            if sel.any():
                self.watched.append((d, b.take(sel)))
        if self.hvas.size:
            a = np.isin(b.src, self.hvas) & ~own_d
            z = np.isin(b.dst, self.hvas) & ~own_s
            for h, p in set(zip(src[a].tolist(), dst[a].tolist(), strict=True)) | set(
                    zip(dst[z].tolist(), src[z].tolist(), strict=True)):
                self.hva_ext.append((d, h, p))

    def finish(self) -> None:
        n = self.n
        self.pairs = np.unique(np.concatenate(self._pairs)) if self._pairs else self.pairs
        self.low_pairs = np.unique(np.concatenate(self._low)) if self._low else self.low_pairs
        self._pairs, self._low = [], []
        own_pairs = self.pairs[self.own[self.pairs % n]]
        self.own_hosts = np.bincount(own_pairs // n, minlength=n).astype(np.int64)
        self.days_active = (self.flows > 0).sum(axis=0).astype(np.int64)

    # ----- per-entity measures -------------------------------------------------------------

    def flows_of(self, ip: int) -> list[tuple[int, FlowBatch]]:
        """Watched flows touching ``ip``, per day."""
        out = []
        for d, b in self.watched:
            sel = (b.src == ip) | (b.dst == ip)
            if sel.any():
                out.append((d, b.take(sel)))
        return out

    def per_day(self, matrix: npt.NDArray[Any], ip: int) -> dict[str, int]:
        """Non-zero values of ``matrix[:, ip]`` keyed by date."""
        return {self.dates[d]: int(v) for d, v in enumerate(matrix[:, ip]) if v}

    def syn_crossing_days(self, ip: int) -> list[int]:
        t = self.t
        f, n = self.failed[:, ip], self.flows[:, ip]
        ok = (f >= t.syn_only_min_flows) & (f >= t.syn_only_min_ratio * np.maximum(n, 1))
        return [int(d) for d in np.nonzero(ok)[0]]

    def ingress_ratio(self, ip: int) -> tuple[int, int, float]:
        """(top day's ingress, second-highest day's, top/second)."""
        v = np.sort(self.ingress[:, ip])[::-1]
        top, second = int(v[0]), int(v[1])
        return top, second, (top / second if second else float("inf"))

    def group_hosts(self, members: list[int]) -> int:
        """Own hosts reached by ``members``' low-profile flows over the period."""
        n = self.n
        sel = np.isin(self.low_pairs // n, np.array(members, dtype=np.int64))
        return int(np.unique(self.low_pairs[sel] % n).size)

    def hosts_of(self, ip: int, low_only: bool = False) -> int:
        pairs = self.low_pairs if low_only else self.pairs
        dst = pairs[pairs // self.n == ip] % self.n
        return int(dst[self.own[dst]].size)

    # ----- crossings -----------------------------------------------------------------------

    def crossings(self, whitelisted: set[int]) -> dict[tuple[str, str], dict[str, Any]]:
        """Every (analysis, entity) over a threshold in the written flows, with a figure."""
        t, n, out = self.t, self.n, {}
        fan = self.peers.max(axis=0)
        for i in np.nonzero(fan >= t.fanout_min_peers)[0]:
            out[("fanout_scanners", self.addrs[i])] = {"max_peers_per_day": int(fan[i])}
        vert = self.max_ports.max(axis=0)
        for i in np.nonzero(vert >= t.vertical_min_ports)[0]:
            out[("vertical_scans", self.addrs[i])] = {"max_ports_on_target": int(vert[i])}
        ratio_ok = self.failed >= t.syn_only_min_ratio * np.maximum(self.flows, 1)
        syn = ((self.failed >= t.syn_only_min_flows) & ratio_ok).any(axis=0)
        for i in np.nonzero(syn)[0]:
            out[("syn_only_scans", self.addrs[i])] = {"max_failed_per_day":
                                                      int(self.failed[:, i].max())}
        las = ((self.days_active >= t.low_and_slow_min_days)
               & (self.own_hosts >= t.low_and_slow_min_hosts) & (fan < t.fanout_min_peers))
        for i in np.nonzero(las)[0]:
            out[("low_and_slow", self.addrs[i])] = {"days": int(self.days_active[i]),
                                                    "own_hosts": int(self.own_hosts[i])}
        srt = np.sort(self.ingress, axis=0)
        top, second = srt[-1], srt[-2]
        ing = self.own & (top >= t.ingress_peak_min_bytes) & (top > t.ingress_peak_factor * second)
        for i in np.nonzero(ing)[0]:
            out[("ingress_peaks", self.addrs[i])] = {"top": int(top[i]), "second": int(second[i])}
        # Coordinated groups: per-source scanners and whitelisted sources left out.
        single = (fan >= t.fanout_min_peers) | (vert >= t.vertical_min_ports) | syn
        single[list(whitelisted)] = True
        src, dst = self.low_pairs // n, self.low_pairs % n
        keep = ~single[src]
        src, dst = src[keep], dst[keep]
        prefixes: dict[str, int] = {}
        gid = np.array([prefixes.setdefault(_prefix(self.addrs[int(s)]), len(prefixes))
                        for s in np.unique(src)], dtype=np.int64)
        g = gid[np.searchsorted(np.unique(src), src)] if src.size else src
        members = np.bincount(np.unique(g * n + src) // n, minlength=len(prefixes))
        hosts = np.bincount(np.unique(g * n + dst) // n, minlength=len(prefixes))
        names = list(prefixes)
        for k in np.nonzero((members >= t.coordinated_min_members)
                            & (hosts >= t.coordinated_min_hosts))[0]:
            out[("coordinated_scanners", names[k])] = {"members": int(members[k]),
                                                       "hosts": int(hosts[k])}
        return out
