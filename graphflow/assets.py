"""The asset model: own networks, ranges, named assets, high-value assets, policies, whitelist.

An :class:`Inventory` is read from one file (YAML, or its JSON form such as the generator's
``assets.json``; bulk asset lists as CSV) by :func:`read_inventory`, validated with errors that
name the line and the field (see ``docs/assets.md`` for the format). ``graphflow enrich
--assets FILE`` keeps a normalised copy in the workspace; :func:`load_inventory` reads it back,
so analyses never depend on the original file still being there.

What the analyses use:

* :meth:`Inventory.classify` -- own / hva / role / asset name / owner / criticality /
  whitelisted / range of many addresses at once;
* :meth:`Inventory.named_sets` -- ``own``, ``hva``, ``whitelist``, ``known-scanners``,
  ``role:NAME`` and the inventory's own ``sets`` as :class:`~graphflow.ipsets.IPSet`;
* :meth:`Inventory.policy_engine` -- which flows break the per-role / per-asset policies,
  which talk to non-routable addresses, which own addresses lie outside every declared range.

Policy semantics (the generator's, documented in ``docs/assets.md``): a flow is allowed when
the originator's *outbound* rules and the responder's *inbound* rules (each merged with
``defaults``) both have an entry for its port listing the other side. An own host whose role
has no policy, and external hosts, have no rules; a direction a policy does not mention is
unconstrained, and an empty one allows only the defaults. An asset's own ``policy`` replaces
its role's for the directions it declares.

Examples
--------
>>> inv = inventory_from_doc({
...     "own_networks": ["10.10.0.0/16"],
...     "ranges": [{"cidr": "10.10.11.0/24", "kind": "static"}],
...     "assets": [{"ip": "10.10.11.50", "name": "db01", "role": "database",
...                 "criticality": "high"},
...                {"ip": "10.10.11.10", "name": "app01", "role": "app"}],
...     "policies": {"database": {"inbound": {"tcp/5432": ["app"]}}}})
>>> c = inv.classify(["10.10.11.50", "10.10.16.5", "8.8.8.8"])
>>> c["own"].to_pylist(), c["hva"].to_pylist(), c["role"].to_pylist()
([True, True, False], [True, False, False], ['database', None, None])
>>> eng = inv.policy_engine()
>>> [v.kind for v in eng.check("10.10.16.5", "10.10.11.50", "tcp", 5432)]
['inbound', 'outside_ranges']
>>> eng.check("10.10.11.10", "10.10.11.50", "tcp", 5432)
[]
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.ipsets import Addrs, IPSet, Network, PrefixMap, parse_addrs, parse_network

if TYPE_CHECKING:
    from graphflow.workspace import Workspace

__all__ = [
    "DEFAULT_CRITICALITY_LEVELS",
    "DEFAULT_OWN_NETWORKS",
    "AddressRange",
    "Asset",
    "CountryRule",
    "DirectionPolicy",
    "Inventory",
    "Peer",
    "Policy",
    "PolicyEngine",
    "PortSpec",
    "Rule",
    "Violation",
    "default_inventory",
    "inventory_from_doc",
    "load_inventory",
    "read_inventory",
]

DEFAULT_CRITICALITY_LEVELS: tuple[str, ...] = ("low", "medium", "high")
#: Own address space when no inventory says otherwise: RFC 1918 and IPv6 unique-local.
DEFAULT_OWN_NETWORKS: tuple[str, ...] = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                         "fc00::/7")
PEER_KEYWORDS = ("any", "internal", "external")
_T = TypeVar("_T")
_ICMP = frozenset({"icmp", "icmp6", "ipv6-icmp", "icmpv6"})


# ---- the model ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PortSpec:
    """``tcp/5432``, ``udp/53``, ``tcp/8000-8099``, ``tcp/*``, ``icmp`` or ``*``.

    >>> PortSpec.parse("tcp/8000-8099").matches("tcp", 8080), PortSpec.parse("icmp").matches(
    ...     "icmp", 8)
    (True, True)
    """

    proto: str | None
    low: int | None
    high: int | None
    text: str

    @classmethod
    def parse(cls, text: str) -> PortSpec:
        t = str(text).strip().lower()
        if t in ("*", "any"):
            return cls(None, None, None, "*")
        if t in _ICMP:
            return cls("icmp", None, None, "icmp")
        proto, sep, ports = t.partition("/")
        if not sep or proto not in ("tcp", "udp", "sctp"):
            raise ValueError(f"{text!r}: expected tcp/PORT, udp/PORT, PROTO/LOW-HIGH, "
                             "PROTO/*, icmp or *")
        if ports == "*":
            return cls(proto, None, None, t)
        lo_s, dash, hi_s = ports.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if dash else lo
        except ValueError:
            raise ValueError(f"{text!r}: the port must be a number, a range LOW-HIGH or *"
                             ) from None
        if not 0 <= lo <= hi <= 65535:
            raise ValueError(f"{text!r}: ports are 0-65535, LOW <= HIGH")
        return cls(proto, lo, hi, t)

    def matches(self, proto: str, port: int | None) -> bool:
        p = proto.lower()
        if self.proto is None:
            return True
        if self.proto == "icmp":
            return p in _ICMP
        if p != self.proto:
            return False
        if self.low is None:
            return True
        return port is not None and self.low <= port <= (self.high or self.low)


@dataclass(frozen=True)
class Peer:
    """Who may be on the other side: a keyword (any, internal, external), ``role:NAME`` (or a
    bare role name), ``set:NAME``, ``asset:NAME`` or a CIDR."""

    kind: str
    value: str

    @property
    def text(self) -> str:
        return self.value if self.kind in ("keyword", "cidr") else f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Rule:
    port: PortSpec
    peers: tuple[Peer, ...]


@dataclass(frozen=True)
class CountryRule:
    """Peer countries (ISO 3166-1 alpha-2): only ``allow`` (if given), never ``deny``."""

    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()

    def permits(self, country: str | None) -> bool:
        if country is None:
            return True  # unknown location: nothing to hold against the flow
        if country in self.deny:
            return False
        return self.allow is None or country in self.allow


@dataclass(frozen=True)
class DirectionPolicy:
    rules: tuple[Rule, ...] | None = None
    countries: CountryRule | None = None


@dataclass(frozen=True)
class Policy:
    """Inbound and outbound rules of a role, an asset, or the defaults."""

    subject: str
    inbound: DirectionPolicy = field(default_factory=DirectionPolicy)
    outbound: DirectionPolicy = field(default_factory=DirectionPolicy)

    def direction(self, name: str) -> DirectionPolicy:
        return self.inbound if name == "inbound" else self.outbound


@dataclass(frozen=True)
class Asset:
    network: Network
    name: str | None = None
    role: str | None = None
    owner: str | None = None
    criticality: str | None = None
    hva: bool = False
    policy: Policy | None = None
    line: int | None = None


@dataclass(frozen=True)
class AddressRange:
    network: Network
    kind: str
    role: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Violation:
    """One flow key that breaks a rule.

    ``kind``: ``outbound`` (the originator's outbound rules), ``inbound`` (the responder's),
    ``country_outbound``/``country_inbound``, ``non_routable`` or ``outside_ranges``.
    ``host`` is the own host at fault: the originator for port and country rules, the own side
    for the other two; ``peer`` the other side; ``subject`` the policy that was broken.
    """

    kind: str
    host: str
    peer: str
    proto: str
    port: int | None
    subject: str
    rule: str


@dataclass
class Inventory:
    """Everything the asset inventory declares (see the module docstring)."""

    own_cidrs: tuple[Network, ...] = ()
    ranges: tuple[AddressRange, ...] = ()
    assets: tuple[Asset, ...] = ()
    criticality_levels: tuple[str, ...] = DEFAULT_CRITICALITY_LEVELS
    hva_cidrs: tuple[Network, ...] = ()
    whitelist: tuple[tuple[Network, str], ...] = ()
    known_scanners: tuple[Network, ...] = ()
    sets: dict[str, IPSet] = field(default_factory=dict)
    non_routable_cidrs: tuple[Network, ...] | None = None
    defaults: Policy | None = None
    role_policies: dict[str, Policy] = field(default_factory=dict)
    source: str | None = None
    is_default: bool = False
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # ---- sets ---------------------------------------------------------------------------
    @property
    def own(self) -> IPSet:
        return self._memo("own", lambda: IPSet(self.own_cidrs))

    @property
    def hvas(self) -> IPSet:
        return self._memo("hva", lambda: IPSet(
            [a.network for a in self.assets if a.hva] + list(self.hva_cidrs)))

    @property
    def whitelisted(self) -> IPSet:
        return self._memo("whitelist", lambda: IPSet(n for n, _ in self.whitelist))

    @property
    def non_routable(self) -> IPSet:
        """Addresses no own host should talk to: the inventory's list, else every IANA
        special-purpose block that is not globally reachable."""
        def build() -> IPSet:
            if self.non_routable_cidrs is not None:
                return IPSet(self.non_routable_cidrs)
            from graphflow.addrclass import non_routable

            return non_routable()
        return self._memo("non_routable", build)

    def roles(self) -> set[str]:
        return ({a.role for a in self.assets if a.role} | {r.role for r in self.ranges if r.role}
                | set(self.role_policies))

    def named_sets(self) -> dict[str, IPSet]:
        """``own``, ``hva``, ``whitelist``, ``known-scanners``, ``role:NAME`` and ``sets``."""
        def build() -> dict[str, IPSet]:
            out = {"own": self.own, "hva": self.hvas, "whitelist": self.whitelisted,
                   "known-scanners": IPSet(self.known_scanners)}
            by_role: dict[str, list[Network]] = {}
            for a in self.assets:
                if a.role:
                    by_role.setdefault(a.role, []).append(a.network)
            for r in self.ranges:
                if r.role:
                    by_role.setdefault(r.role, []).append(r.network)
            for role, nets in sorted(by_role.items()):
                out[f"role:{role}"] = IPSet(nets)
            out.update(self.sets)
            return out
        result: dict[str, IPSet] = self._memo("named", build)
        return result

    def _memo(self, key: str, fn: Callable[[], _T]) -> _T:
        if key not in self._cache:
            self._cache[key] = fn()
        value: _T = self._cache[key]
        return value

    # ---- per address ----------------------------------------------------------------------
    def _asset_map(self) -> PrefixMap[Asset]:
        result: PrefixMap[Asset] = self._memo("assets", lambda: PrefixMap(
            (a.network, a) for a in self.assets))
        return result

    def _range_map(self) -> PrefixMap[AddressRange]:
        result: PrefixMap[AddressRange] = self._memo("ranges", lambda: PrefixMap(
            (r.network, r) for r in self.ranges))
        return result

    def asset_of(self, ip: str) -> Asset | None:
        return self._asset_map().get(ip)

    def range_of(self, ip: str) -> AddressRange | None:
        return self._range_map().get(ip)

    def role_of(self, ip: str) -> str | None:
        a = self.asset_of(ip)
        if a is not None and a.role:
            return a.role
        r = self.range_of(ip)
        return r.role if r is not None else None

    def classify(self, ips: Addrs | pa.Array | Sequence[str]) -> dict[str, pa.Array]:
        """Inventory columns of many addresses: own, hva, role, name, owner, criticality,
        whitelisted, range_kind (dhcp/static/None) and in_ranges (False for an own address
        outside every declared range, when ranges are declared)."""
        addrs = ips if isinstance(ips, Addrs) else parse_addrs(ips)
        own = self.own.contains(addrs)
        a_idx = self._asset_map().lookup(addrs)
        r_idx = self._range_map().lookup(addrs)
        assets = self._asset_map().values
        ranges = self._range_map().values

        def col(idx: np.ndarray, values: list[Any], attr: str) -> pa.Array:
            table = pa.array([getattr(v, attr) for v in values] or [None], pa.string())
            return table.take(pa.array(np.maximum(idx, 0), pa.int64(), mask=idx < 0))

        role_a = col(a_idx, assets, "role")
        role_r = col(r_idx, ranges, "role")
        role = pa.array(np.where(pc.is_valid(role_a).to_numpy(zero_copy_only=False),
                                 role_a.to_numpy(zero_copy_only=False),
                                 role_r.to_numpy(zero_copy_only=False)), pa.string())
        in_ranges = (r_idx >= 0) | ~own if self.ranges else np.ones(len(own), dtype=bool)
        return {
            "own": pa.array(own),
            "hva": pa.array(self.hvas.contains(addrs)),
            "role": role,
            "name": col(a_idx, assets, "name"),
            "owner": col(a_idx, assets, "owner"),
            "criticality": col(a_idx, assets, "criticality"),
            "whitelisted": pa.array(self.whitelisted.contains(addrs)),
            "range_kind": col(r_idx, ranges, "kind"),
            "in_ranges": pa.array(in_ranges),
        }

    # ---- policies -------------------------------------------------------------------------
    def policy_of(self, ip: str) -> Policy | None:
        """The policy that governs ``ip`` (its asset's, else its role's), or None."""
        a = self.asset_of(ip)
        role = self.role_of(ip)
        base = self.role_policies.get(role) if role else None
        if a is not None and a.policy is not None:
            if base is None:
                return a.policy
            return Policy(
                a.policy.subject,
                a.policy.inbound if a.policy.inbound.rules is not None else base.inbound,
                a.policy.outbound if a.policy.outbound.rules is not None else base.outbound)
        return base

    def policy_engine(self, country_of: Callable[[str], str | None] | None = None,
                      extra_sets: Mapping[str, IPSet] | None = None) -> PolicyEngine:
        """A checker of flows against this inventory (``country_of`` for country rules)."""
        return PolicyEngine(self, country_of, extra_sets)

    # ---- persistence ------------------------------------------------------------------------
    def to_doc(self) -> dict[str, Any]:
        """The normalised document (the JSON form of the inventory format)."""
        def pol(p: Policy) -> dict[str, Any]:
            out: dict[str, Any] = {}
            countries: dict[str, Any] = {}
            for d in ("inbound", "outbound"):
                dp = p.direction(d)
                if dp.rules is not None:
                    out[d] = {}
                    for r in dp.rules:
                        out[d].setdefault(r.port.text, []).extend(x.text for x in r.peers)
                if dp.countries is not None:
                    c: dict[str, Any] = {}
                    if dp.countries.allow is not None:
                        c["allow"] = sorted(dp.countries.allow)
                    if dp.countries.deny:
                        c["deny"] = sorted(dp.countries.deny)
                    countries[d] = c
            if countries:
                out["countries"] = countries
            return out

        doc: dict[str, Any] = {
            "format": "graphflow-inventory", "version": 1,
            "criticality_levels": list(self.criticality_levels),
            "own_networks": [str(n) for n in self.own_cidrs],
            "ranges": [{"cidr": str(r.network), "kind": r.kind, "role": r.role}
                       for r in self.ranges],
            "assets": [],
            "hvas": [str(n) for n in self.hva_cidrs],
            "whitelist": [{"cidr": str(n), "comment": c} for n, c in self.whitelist],
            "known_scanners": [str(n) for n in self.known_scanners],
            "sets": {k: [str(c) for c in v.cidrs()] for k, v in self.sets.items()},
            "policies": {k: pol(v) for k, v in self.role_policies.items()},
        }
        for a in self.assets:
            entry: dict[str, Any] = {"cidr" if a.network.num_addresses > 1 else "ip":
                                     str(a.network) if a.network.num_addresses > 1 else
                                     str(a.network.network_address)}
            for k in ("name", "role", "owner", "criticality"):
                if getattr(a, k) is not None:
                    entry[k] = getattr(a, k)
            if a.policy is not None:
                entry["policy"] = pol(a.policy)
            doc["assets"].append(entry)
        if self.defaults is not None:
            doc["defaults"] = pol(self.defaults)
        if self.non_routable_cidrs is not None:
            doc["non_routable"] = [str(n) for n in self.non_routable_cidrs]
        return doc


# ---- checking flows -----------------------------------------------------------------------------
class PolicyEngine:
    """Checks flow keys (src, dst, proto, port) against an inventory; caches per address."""

    def __init__(self, inv: Inventory, country_of: Callable[[str], str | None] | None = None,
                 extra_sets: Mapping[str, IPSet] | None = None) -> None:
        self.inv = inv
        self.country_of = country_of
        self.sets = {**inv.named_sets(), **(extra_sets or {})}
        self._host: dict[str, tuple[bool, str | None, Policy | None, bool]] = {}
        self._assets_by_name = {a.name: a.network for a in inv.assets if a.name}

    def host(self, ip: str) -> tuple[bool, str | None, Policy | None, bool]:
        """(own, role, policy, inside a declared range) of ``ip``, cached."""
        h = self._host.get(ip)
        if h is None:
            own = ip in self.inv.own
            if own:
                r = self.inv.range_of(ip)
                in_ranges = r is not None or not self.inv.ranges
                h = (True, self.inv.role_of(ip), self.inv.policy_of(ip), in_ranges)
            else:
                h = (False, None, None, True)
            self._host[ip] = h
        return h

    def _peer_ok(self, peer: Peer, ip: str) -> bool:
        if peer.kind == "keyword":
            if peer.value == "any":
                return True
            return self.host(ip)[0] == (peer.value == "internal")
        if peer.kind == "role":
            return self.host(ip)[1] == peer.value
        if peer.kind == "cidr":
            return ipaddress.ip_address(ip) in parse_network(peer.value)
        if peer.kind == "set":
            s = self.sets.get(peer.value)
            return s is not None and ip in s
        if peer.kind == "asset":
            net = self._assets_by_name.get(peer.value)
            return net is not None and ipaddress.ip_address(ip) in net
        return False

    def _allowed(self, dps: list[DirectionPolicy], proto: str, port: int | None,
                 other: str) -> bool:
        for dp in dps:
            for rule in dp.rules or ():
                if rule.port.matches(proto, port) and any(self._peer_ok(p, other)
                                                          for p in rule.peers):
                    return True
        return False

    def _describe(self, policy: Policy, direction: str) -> str:
        dp = policy.direction(direction)
        allowed = sorted({r.port.text for r in dp.rules or ()})
        what = ", ".join(allowed) if allowed else "nothing"
        return f"{policy.subject} {direction} allows only {what} (plus defaults)"

    def check(self, src: str, dst: str, proto: str, port: int | None, *,
              established: bool = True) -> list[Violation]:
        """Every rule the flow key breaks (port rules only for established flows)."""
        out: list[Violation] = []
        s_own, _, s_pol, s_in = self.host(src)
        d_own, _, d_pol, d_in = self.host(dst)
        defaults = self.inv.defaults
        if established:
            for direction, pol, other in (("outbound", s_pol, dst), ("inbound", d_pol, src)):
                if pol is None:
                    continue
                dp = pol.direction(direction)
                if dp.rules is not None:
                    dps = [dp] + ([defaults.direction(direction)] if defaults else [])
                    if not self._allowed(dps, proto, port, other):
                        out.append(Violation(direction, src, dst, proto, port, pol.subject,
                                             self._describe(pol, direction)))
                if dp.countries is not None and self.country_of is not None:
                    cc = self.country_of(other)
                    if not dp.countries.permits(cc):
                        out.append(Violation(f"country_{direction}", src, dst, proto, port,
                                             pol.subject, f"{pol.subject} {direction}: peer "
                                             f"country {cc} not permitted"))
        nr = self.inv.non_routable
        if s_own and not d_own and dst in nr:
            out.append(Violation("non_routable", src, dst, proto, port, "non_routable",
                                 "no traffic with non-routable (bogon) addresses"))
        elif d_own and not s_own and src in nr:
            out.append(Violation("non_routable", dst, src, proto, port, "non_routable",
                                 "no traffic with non-routable (bogon) addresses"))
        for own, inside, me, other in ((s_own, s_in, src, dst), (d_own, d_in, dst, src)):
            if own and not inside:
                out.append(Violation("outside_ranges", me, other, proto, port, "ranges",
                                     "own address outside every declared DHCP/static range"))
        return out

    def check_table(self, table: pa.Table) -> pa.Table:
        """Violations of many flow keys: ``table`` has src_ip, dst_ip, proto, dst_port and
        optionally ``established`` (bool) and ``flows`` (count); the result has one row per
        (input row, violation) with kind, host, peer, proto, dst_port, subject, rule, flows."""
        cols = table.to_pydict()
        n = table.num_rows
        est = cols.get("established", [True] * n)
        flows = cols.get("flows", [1] * n)
        out: dict[str, list[Any]] = {k: [] for k in ("kind", "host", "peer", "proto",
                                                      "dst_port", "subject", "rule", "flows")}
        for i in range(n):
            for v in self.check(cols["src_ip"][i], cols["dst_ip"][i], cols["proto"][i],
                                cols["dst_port"][i], established=bool(est[i])):
                for k, val in (("kind", v.kind), ("host", v.host), ("peer", v.peer),
                               ("proto", v.proto), ("dst_port", v.port),
                               ("subject", v.subject), ("rule", v.rule), ("flows", flows[i])):
                    out[k].append(val)
        return pa.table({k: pa.array(v, pa.int64() if k in ("flows", "dst_port") else
                                     pa.string()) for k, v in out.items()})


# ---- building and loading -----------------------------------------------------------------------
def default_inventory() -> Inventory:
    """No inventory given: own = private and unique-local space, nothing else."""
    return Inventory(own_cidrs=tuple(parse_network(n) for n in DEFAULT_OWN_NETWORKS),
                     is_default=True, source=None)


def read_inventory(path: str | Path) -> Inventory:
    """Read and validate an inventory file (YAML, its JSON form, or a CSV asset list).

    Raises :class:`ingest.enrich.inventory.InventoryError` listing every problem with its line
    and field.
    """
    from ingest.enrich.inventory import read_inventory as _read

    return _read(path)


def inventory_from_doc(doc: Mapping[str, Any], source: str = "<document>") -> Inventory:
    """An inventory from an already-parsed document (same validation as files)."""
    from ingest.enrich.inventory import inventory_from_doc as _from

    return _from(doc, source)


def load_inventory(ws: Workspace) -> Inventory | None:
    """The inventory kept in the workspace by ``graphflow enrich`` (with the whitelist merged
    in), or None when neither an inventory nor a whitelist was given."""
    meta = ws.version_dir / "meta"
    inv_path = meta / "inventory.json"
    wl_path = meta / "whitelist.txt"
    if not inv_path.exists() and not wl_path.exists():
        return None
    if inv_path.exists():
        doc = json.loads(inv_path.read_text(encoding="utf-8"))
        inv = inventory_from_doc(doc, source=doc.get("source") or str(inv_path))
    else:
        inv = default_inventory()
    if wl_path.exists():
        from graphflow.ipsets import read_cidr_file

        _, entries = read_cidr_file(wl_path)
        extra = tuple((parse_network(c), comment) for c, comment in entries)
        known = {n for n, _ in inv.whitelist}
        inv.whitelist = inv.whitelist + tuple(e for e in extra if e[0] not in known)
        inv._cache.clear()
    return inv

