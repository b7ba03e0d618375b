"""Address classes from the IANA special-purpose address registries (IPv4 and IPv6).

Every block of the IANA *IPv4 Special-Purpose Address Registry* and *IPv6 Special-Purpose
Address Registry* (RFC 6890 and its updates) is listed in :data:`REGISTRY` with the class
GraphFlow gives it. The most specific block wins (``2001:4:112::/48``, AS112, is public inside
the non-routable ``2001::/23``). Outside every block an IPv4 address is ``public``; an IPv6
address is ``public`` inside the global unicast space ``2000::/3`` and ``bogon`` elsewhere
(unassigned).

Classes: ``public`` (globally reachable), ``private`` (RFC 1918, unique-local fc00::/7),
``shared`` (carrier-grade NAT 100.64.0.0/10), ``loopback``, ``link-local``, ``multicast``,
``broadcast``, ``unspecified``, ``documentation``, ``benchmark``, ``ipv4-mapped`` and
``bogon`` (reserved, deprecated or otherwise never routed). Every class but ``public`` is
non-routable on the internet.

Examples
--------
>>> address_class("10.1.2.3"), address_class("100.64.0.1"), address_class("8.8.8.8")
('private', 'shared', 'public')
>>> address_class("2001:db8::1"), address_class("fe80::1"), address_class("4000::1")
('documentation', 'link-local', 'bogon')
>>> classify(["192.0.2.1", "240.0.0.1", "ff02::1", "::1", "junk"]).to_pylist()
['documentation', 'bogon', 'multicast', 'loopback', None]
>>> registry_entry("192.31.196.1").name
'AS112-v4'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

from graphflow.ipsets import Addrs, IPSet, Network, PrefixMap, parse_addrs, parse_network

__all__ = [
    "CLASSES",
    "REGISTRY",
    "Block",
    "address_class",
    "classify",
    "non_routable",
    "registry_entry",
]

CLASSES: dict[str, str] = {
    "public": "globally reachable unicast",
    "private": "private-use (RFC 1918) or unique-local (fc00::/7)",
    "shared": "shared address space for carrier-grade NAT (RFC 6598)",
    "loopback": "loopback",
    "link-local": "link-local",
    "multicast": "multicast",
    "broadcast": "limited broadcast 255.255.255.255",
    "unspecified": "the unspecified address (0.0.0.0, ::)",
    "documentation": "documentation ranges (never on the wire)",
    "benchmark": "benchmarking ranges (RFC 2544, RFC 5180)",
    "ipv4-mapped": "IPv4-mapped IPv6 addresses (::ffff:0:0/96)",
    "bogon": "reserved, deprecated or unassigned: never routed",
}


@dataclass(frozen=True)
class Block:
    """One registry entry."""

    cidr: str
    name: str
    rfc: str
    cls: str

    @property
    def network(self) -> Network:
        return parse_network(self.cidr)


#: The IANA special-purpose registries (IPv4 and IPv6), with GraphFlow's class for each block.
REGISTRY: tuple[Block, ...] = (
    # IPv4 (iana.org/assignments/iana-ipv4-special-registry)
    Block("0.0.0.0/8", "This network", "RFC 791", "bogon"),
    Block("0.0.0.0/32", "This host on this network", "RFC 1122", "unspecified"),
    Block("10.0.0.0/8", "Private-Use", "RFC 1918", "private"),
    Block("100.64.0.0/10", "Shared Address Space", "RFC 6598", "shared"),
    Block("127.0.0.0/8", "Loopback", "RFC 1122", "loopback"),
    Block("169.254.0.0/16", "Link Local", "RFC 3927", "link-local"),
    Block("172.16.0.0/12", "Private-Use", "RFC 1918", "private"),
    Block("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890", "bogon"),
    Block("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", "bogon"),
    Block("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", "bogon"),
    Block("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", "public"),
    Block("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", "public"),
    Block("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880", "bogon"),
    Block("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880", "bogon"),
    Block("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", "documentation"),
    Block("192.31.196.0/24", "AS112-v4", "RFC 7535", "public"),
    Block("192.52.193.0/24", "AMT", "RFC 7450", "public"),
    Block("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", "bogon"),
    Block("192.168.0.0/16", "Private-Use", "RFC 1918", "private"),
    Block("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", "public"),
    Block("198.18.0.0/15", "Benchmarking", "RFC 2544", "benchmark"),
    Block("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", "documentation"),
    Block("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", "documentation"),
    Block("224.0.0.0/4", "Multicast", "RFC 5771", "multicast"),
    Block("240.0.0.0/4", "Reserved", "RFC 1112", "bogon"),
    Block("255.255.255.255/32", "Limited Broadcast", "RFC 919", "broadcast"),
    # IPv6 (iana.org/assignments/iana-ipv6-special-registry)
    Block("::/128", "Unspecified Address", "RFC 4291", "unspecified"),
    Block("::1/128", "Loopback Address", "RFC 4291", "loopback"),
    Block("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", "ipv4-mapped"),
    Block("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", "public"),
    Block("64:ff9b:1::/48", "IPv4-IPv6 Translat. (local use)", "RFC 8215", "private"),
    Block("100::/64", "Discard-Only Address Block", "RFC 6666", "bogon"),
    Block("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", "bogon"),
    Block("2001::/23", "IETF Protocol Assignments", "RFC 2928", "bogon"),
    Block("2001::/32", "TEREDO", "RFC 4380", "public"),
    Block("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", "public"),
    Block("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", "public"),
    Block("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665",
          "public"),
    Block("2001:2::/48", "Benchmarking", "RFC 5180", "benchmark"),
    Block("2001:3::/32", "AMT", "RFC 7450", "public"),
    Block("2001:4:112::/48", "AS112-v6", "RFC 7535", "public"),
    Block("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", "bogon"),
    Block("2001:20::/28", "ORCHIDv2", "RFC 7343", "public"),
    Block("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374",
          "public"),
    Block("2001:db8::/32", "Documentation", "RFC 3849", "documentation"),
    Block("2002::/16", "6to4", "RFC 3056", "public"),
    Block("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", "public"),
    Block("3fff::/20", "Documentation", "RFC 9637", "documentation"),
    Block("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", "bogon"),
    Block("fc00::/7", "Unique-Local", "RFC 4193", "private"),
    Block("fe80::/10", "Link-Local Unicast", "RFC 4291", "link-local"),
    Block("ff00::/8", "Multicast", "RFC 4291", "multicast"),
)

_PUBLIC_V4 = Block("0.0.0.0/0", "(not special)", "", "public")
_GLOBAL_V6 = Block("2000::/3", "Global Unicast (not special)", "RFC 4291", "public")
_UNASSIGNED_V6 = Block("::/0", "Unassigned", "", "bogon")


@lru_cache(maxsize=1)
def _map() -> PrefixMap[Block]:
    return PrefixMap([(b.network, b) for b in (*REGISTRY, _PUBLIC_V4, _GLOBAL_V6,
                                                 _UNASSIGNED_V6)])


@lru_cache(maxsize=1)
def _class_codes() -> tuple[pa.Array, np.ndarray]:
    names = list(CLASSES)
    codes = np.array([names.index(b.cls) for b in _map().values], dtype=np.int32)
    return pa.array(names, pa.string()), codes


def classify(ips: Addrs | pa.Array | pa.ChunkedArray | Sequence[str]) -> pa.Array:
    """The class of every address (null where the text is not an address), vectorised."""
    addrs = ips if isinstance(ips, Addrs) else parse_addrs(ips)
    idx = _map().lookup(addrs)
    names, codes = _class_codes()
    code = np.where(idx >= 0, codes[np.maximum(idx, 0)], -1)
    indices = pa.array(code, pa.int32(), mask=code < 0)
    result: pa.Array = names.take(indices)
    return result


def registry_entry(ip: str) -> Block:
    """The most specific registry block holding ``ip`` (a pseudo-entry for ordinary space)."""
    b = _map().get(ip)
    if b is None:
        raise ValueError(f"{ip!r}: not an IP address")
    return b


def address_class(ip: str) -> str | None:
    """The class of one address, or None if ``ip`` is not an address."""
    value = classify([ip])[0].as_py()
    return str(value) if value is not None else None


@lru_cache(maxsize=1)
def non_routable() -> IPSet:
    """Every address whose class is not ``public`` (IPv4 and IPv6), as a set.

    >>> "198.18.0.1" in non_routable(), "8.8.8.8" in non_routable()
    (True, False)
    """
    # Built as space minus public blocks minus special blocks, most specific last.
    blocks = sorted((*REGISTRY, _PUBLIC_V4, _GLOBAL_V6, _UNASSIGNED_V6),
                    key=lambda b: b.network.prefixlen)
    result = IPSet()
    for b in blocks:
        if b.cls == "public":
            result = result - IPSet([b.network])
        else:
            result = result | IPSet([b.network])
    return result
