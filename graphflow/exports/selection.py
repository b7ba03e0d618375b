"""What part of the workspace an export takes: the same selection as ``graphflow graph``.

A :class:`Selection` is a :class:`graphflow.query.FlowFilter` (time window, hosts or CIDRs at
either end, ports, protocols, edge limit) plus what the filter cannot say:

* ``per_port``: one edge per host pair and port/protocol instead of one per pair;
* ``around`` / ``hops``: the k-hop neighbourhood of one or more hosts (edges in either
  direction count as a hop; the result is the subgraph induced by the hosts reached);
* ``finding_id`` / ``finding``: an analysis finding. ``finding`` is the hook itself, a
  :class:`FindingSelection` of IPs and/or host pairs; given only ``finding_id``, the finding is
  looked up with :func:`graphflow.analyses.get_finding` (its entity, members and drill-down
  edges). A finding with pairs keeps exactly those pairs, one with only IPs keeps the edges
  between them;
* named IP sets, expanded into the filter's hosts by :func:`with_sets`: from the rules file's
  ``sets:``, else the workspace's (:class:`WorkspaceSets`: ``own``, ``hva``, ``role:web``,
  sets saved with ``graphflow sets``).

The filter applies first (in DuckDB), then the neighbourhood and the finding, then the limit.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from graphflow.errors import GraphFlowError
from graphflow.query import FlowFilter
from graphflow.workspace import Workspace

__all__ = ["FindingSelection", "Selection", "WorkspaceSets", "resolve_finding", "restrict",
           "with_sets"]


@dataclass(frozen=True)
class FindingSelection:
    """What a finding selects: its hosts, and the host pairs behind it when it names them."""

    ips: frozenset[str] = frozenset()
    pairs: frozenset[tuple[str, str]] = frozenset()


def _unlimited() -> FlowFilter:
    return FlowFilter(limit=None)


@dataclass(frozen=True)
class Selection:
    """A selection of the host graph (see the module docstring).

    >>> Selection(around=("10.0.0.1",), hops=2).restricts()
    True
    >>> Selection().flt.limit is None
    True
    """

    flt: FlowFilter = field(default_factory=_unlimited)
    per_port: bool = False
    around: tuple[str, ...] = ()
    hops: int = 1
    finding_id: str | None = None
    finding: FindingSelection | None = None

    def restricts(self) -> bool:
        """Whether anything beyond the FlowFilter narrows the edges."""
        return bool(self.around) or self.finding is not None or self.finding_id is not None


class WorkspaceSets(Mapping[str, tuple[str, ...]]):
    """Named IP sets as CIDR lists: those ``defined`` (a rules file's ``sets:``) first, then
    the workspace's (:func:`graphflow.ipsets.load_set`), looked up when first used."""

    def __init__(self, ws: Workspace, defined: Mapping[str, Collection[str]] | None = None
                 ) -> None:
        self.ws = ws
        self._cache: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in (defined or {}).items()}

    def __getitem__(self, name: str) -> tuple[str, ...]:
        if name not in self._cache:
            try:
                from graphflow.ipsets import load_set
            except ImportError:
                raise KeyError(name) from None
            try:
                ipset = load_set(self.ws, name)
            except GraphFlowError:
                raise KeyError(name) from None
            self._cache[name] = tuple(str(n) for n in ipset.cidrs())
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        try:
            from graphflow.ipsets import list_sets
        except ImportError:
            return iter(list(self._cache))
        return iter(dict.fromkeys([*self._cache, *(s.name for s in list_sets(self.ws))]))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            self[name]
        except KeyError:
            return False
        return True


def with_sets(flt: FlowFilter, names: Collection[str],
              sets: Mapping[str, Collection[str]]) -> FlowFilter:
    """The filter with the members (IPs, CIDRs) of the named sets added to its hosts.

    >>> with_sets(FlowFilter(), ["dmz"], {"dmz": ["10.1.0.0/16"]}).hosts
    ('10.1.0.0/16',)
    """
    hosts = list(flt.hosts)
    for name in names:
        if name not in sets:
            raise GraphFlowError(f"--set {name!r}: no such named set (define it under 'sets:' "
                                 "in the rules file, or with 'graphflow sets')")
        hosts.extend(str(m) for m in sets[name])
    return dataclasses.replace(flt, hosts=tuple(hosts))


def resolve_finding(ws: Workspace, finding_id: str) -> FindingSelection:
    """The hosts and pairs of a finding, through the analyses' :func:`get_finding`."""
    try:
        from graphflow.analyses import get_finding
        from graphflow.analyses.registry import drill_edges
    except ImportError:
        raise GraphFlowError("findings are not available in this installation") from None
    f = get_finding(ws, finding_id)
    ips = {f.entity, *f.members} - {""}
    pairs = set()
    for key in drill_edges(ws, f):
        # drill keys: (day, src_ip, dst_ip, dst_port, proto)
        if len(key) >= 3:
            pairs.add((str(key[1]), str(key[2])))
    ips |= {ip for pair in pairs for ip in pair}
    return FindingSelection(frozenset(ips), frozenset(pairs))


def _both_in(edges: pa.Table, ips: pa.Array) -> pa.ChunkedArray:
    return pc.and_(pc.is_in(edges.column("source"), value_set=ips),
                   pc.is_in(edges.column("target"), value_set=ips))


def _neighbourhood(edges: pa.Table, around: tuple[str, ...], hops: int) -> pa.Array:
    for ip in around:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise GraphFlowError(f"--around {ip!r}: not an IP address") from None
    reached = pa.array(sorted(set(around)), pa.string())
    src, dst = edges.column("source"), edges.column("target")
    for _ in range(max(hops, 0)):
        touch = pc.or_(pc.is_in(src, value_set=reached), pc.is_in(dst, value_set=reached))
        new = pa.concat_arrays([
            reached,
            pc.filter(src, touch).combine_chunks(),
            pc.filter(dst, touch).combine_chunks(),
        ])
        new = pc.unique(new)
        if len(new) == len(reached):
            break
        reached = new
    return reached


def restrict(edges: pa.Table, sel: Selection, ws: Workspace | None = None) -> pa.Table:
    """Apply the neighbourhood and finding parts of ``sel`` to edges (``source``, ``target``).

    >>> t = pa.table({"source": ["a", "b", "c"], "target": ["b", "c", "d"]})
    >>> restrict(t, Selection(finding=FindingSelection(frozenset({"a", "b", "c"})))).num_rows
    2
    >>> fs = FindingSelection(pairs=frozenset({("c", "d")}))
    >>> restrict(t, Selection(finding=fs)).column("source").to_pylist()
    ['c']
    """
    finding = sel.finding
    if finding is None and sel.finding_id is not None:
        if ws is None:
            raise GraphFlowError("a finding id needs a workspace to be looked up in")
        finding = resolve_finding(ws, sel.finding_id)
    if finding is not None:
        if finding.pairs:
            keys = pc.binary_join_element_wise(edges.column("source"), edges.column("target"),
                                               "\x00")
            wanted = pa.array(sorted(f"{a}\x00{b}" for a, b in finding.pairs), pa.string())
            edges = edges.filter(pc.is_in(keys, value_set=wanted))
        else:
            edges = edges.filter(_both_in(edges, pa.array(sorted(finding.ips), pa.string())))
    if sel.around:
        edges = edges.filter(_both_in(edges, _neighbourhood(edges, sel.around, sel.hops)))
    return edges
