"""The synthetic organisation: address plan, servers, workstations, external peers, names.

Built once per seed, before any flow: every address the flows use gets an index in the
:class:`AddressBook`, so flows carry small integers and the writer turns them into text once.

Address plan (defaults; derived from ``own_v4``/``dmz_v4``/``own_v6``):

=======================  ====================================================
10.10.0.0/24             network gear (static)
10.10.10.0/24            servers: DCs, resolver, NTP, proxy, files, backup, ...
10.10.11.0/24            app tier and databases (static)
10.10.16.0/20            workstations (DHCP)
198.51.100.0/24          the DMZ: web, API, mail, SFTP (static, public)
2001:db8:a:10::/120      static IPv6 (the web server's v6 address)
2001:db8:a:10:8000::/65  workstations' SLAAC addresses
=======================  ====================================================

External addresses come from arbitrary public-looking /16s (never RFC 1918, shared,
loopback, link-local, documentation, benchmark or multicast space); IPv6 peers from the
3fff::/20 documentation prefix. None of them stand for a real host.

Examples
--------
>>> from graphflow.synth.model import GeneratorConfig
>>> w = build_world(GeneratorConfig(days=8, flows_per_day=500))
>>> w.book.addrs[w.hosts["db01"].idx], w.hosts["db01"].role, w.hosts["db01"].criticality
('10.10.11.50', 'database', 'high')
>>> is_special_v4(int(ipaddress.IPv4Address("192.168.1.1")))
True
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from graphflow.synth.model import GeneratorConfig

__all__ = [
    "HOSTILE_NAMES",
    "SPECIAL_V4",
    "AddressBook",
    "Host",
    "World",
    "build_world",
    "is_special_v4",
    "rng_for",
]

I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]

#: Special-purpose IPv4 blocks (RFC 6890 and friends): never used for background peers.
SPECIAL_V4: tuple[str, ...] = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)
_SPECIAL = [ipaddress.IPv4Network(n) for n in SPECIAL_V4]
# First octets that hold special blocks (or famous public resolvers): avoided wholesale.
_AVOID_FIRST = {0, 1, 8, 9, 10, 100, 127, 169, 172, 192, 198, 203}

#: Names that must survive CSV, HTML, JSON and terminal output unharmed.
HOSTILE_NAMES: tuple[str, ...] = (
    'evil"quote.example',
    "comma,separated,name.example",
    "<script>alert(1)</script>.example",
    "bücher-straße.example",
    "日本語のホスト.example",
    "=HYPERLINK(\"http://x.example\";\"click\").example",
    "it's-a-trap.example",
    "back\\slash&amp;.example",
)

ROLE_OPEN_PORTS: dict[str, tuple[int, ...]] = {
    "router": (22, 443), "firewall": (), "domain_controller": (53, 88, 135, 389, 445),
    "dns_resolver": (53,), "ntp": (), "proxy": (3128,), "file": (445,), "backup": (),
    "monitoring": (), "vuln_scanner": (), "app": (443, 8443), "database": (5432,),
    "batch": (), "sftp": (22,), "mail": (25, 587, 993), "web": (80, 443),
    "workstation": (135, 445),
}


def rng_for(seed: int, *stream: int | str) -> np.random.Generator:
    """An independent random stream per purpose, stable across code changes elsewhere.

    >>> float(rng_for(1, "x").random()) == float(rng_for(1, "x").random())
    True
    """
    keys = [seed]
    for s in stream:
        keys.append(s if isinstance(s, int) else zlib.crc32(s.encode()))
    return np.random.default_rng(np.random.SeedSequence(keys))


def is_special_v4(value: int) -> bool:
    """Whether an IPv4 address (as an int) is in a special-purpose block."""
    addr = ipaddress.IPv4Address(value)
    return any(addr in n for n in _SPECIAL)


@dataclass
class AddressBook:
    """Every address used, by index. ``own`` marks the organisation's own addresses."""

    addrs: list[str] = field(default_factory=list)
    own: list[bool] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def add(self, ip: str, own: bool, name: str | None = None) -> int:
        if ip in self.index:
            i = self.index[ip]
        else:
            i = len(self.addrs)
            self.addrs.append(ip)
            self.own.append(own)
            self.index[ip] = i
        if name is not None:
            self.names[i] = name
        return i

    def own_mask(self) -> npt.NDArray[np.bool_]:
        return np.array(self.own, dtype=bool)


@dataclass(frozen=True)
class Host:
    name: str
    role: str
    owner: str
    criticality: str
    ip: str
    idx: int


# name, role, owner, criticality, block ("net", "srv", "app", "dmz", "v6"), host number
_SERVERS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("gw01", "router", "network", "medium", "net", 1),
    ("sw01", "router", "network", "low", "net", 2),
    ("sw02", "router", "network", "low", "net", 3),
    ("dc01", "domain_controller", "it-infra", "high", "srv", 10),
    ("dc02", "domain_controller", "it-infra", "high", "srv", 11),
    ("files01", "file", "it-infra", "high", "srv", 45),
    ("ns01", "dns_resolver", "it-infra", "medium", "srv", 53),
    ("proxy01", "proxy", "it-infra", "medium", "srv", 80),
    ("ntp01", "ntp", "it-infra", "low", "srv", 123),
    ("backup01", "backup", "it-infra", "medium", "srv", 200),
    ("mon01", "monitoring", "it-ops", "low", "srv", 250),
    ("vscan01", "vuln_scanner", "security", "medium", "srv", 251),
    ("app01", "app", "dev", "medium", "app", 10),
    ("app02", "app", "dev", "medium", "app", 11),
    ("app03", "app", "dev", "low", "app", 12),
    ("finance-app", "app", "finance", "high", "app", 20),
    ("db01", "database", "dba", "high", "app", 50),
    ("db02", "database", "dba", "medium", "app", 51),
    ("etl01", "batch", "data", "medium", "app", 70),
    ("fw01", "firewall", "network", "medium", "dmz", 1),
    ("sftp01", "sftp", "it-infra", "medium", "dmz", 22),
    ("edi01", "sftp", "partners", "medium", "dmz", 23),
    ("mail01", "mail", "it-infra", "medium", "dmz", 25),
    ("www", "web", "marketing", "medium", "dmz", 80),
    ("api", "web", "dev", "medium", "dmz", 81),
    ("www-v6", "web", "marketing", "medium", "v6", 0x80),
)

_WORDS = ("shop", "news", "portal", "media", "cloud", "docs", "stream", "maps", "mail",
          "market", "travel", "bank", "games", "video", "forum", "wiki", "learn", "jobs")


@dataclass
class World:
    """The organisation and its surroundings, shared by background and scenarios."""

    cfg: GeneratorConfig
    book: AddressBook
    hosts: dict[str, Host]
    role_of: dict[int, str]
    users: I32
    users6: I32
    user_weight: F64
    personal: I32
    personal_k: npt.NDArray[np.int64]
    personal6: I32
    personal6_k: npt.NDArray[np.int64]
    user_apps: I32
    user_apps_k: npt.NDArray[np.int64]
    pools: dict[str, I32]
    weights: dict[str, F64]
    noise_targets: I32
    cdn_prefix: str
    dmz_all: I32
    open_ports: dict[int, tuple[int, ...]]
    monitored: I32
    backup_targets: I32
    free_dhcp: list[str]
    planted_prefixes: list[tuple[int, int]]
    used24: set[tuple[int, int, int]]
    rogue_ip: str
    ranges: list[dict[str, Any]]
    whitelist: list[tuple[str, str]] = field(default_factory=list)
    #: Workstations already given a planted role (each plays at most one).
    taken: set[int] = field(default_factory=set)

    def idx(self, name: str) -> int:
        return self.hosts[name].idx

    def addr(self, i: int) -> str:
        return self.book.addrs[i]

    def new_external_slash24(self, rng: np.random.Generator) -> tuple[int, int, int]:
        """A fresh /24 in a /16 reserved for planted sources (no background peer there)."""
        while True:
            a, b = self.planted_prefixes[int(rng.integers(len(self.planted_prefixes)))]
            key = (a, b, int(rng.integers(0, 256)))
            if key not in self.used24:
                self.used24.add(key)
                return key

    def new_external(self, rng: np.random.Generator, n: int = 1,
                     names: list[str] | None = None) -> list[int]:
        """``n`` fresh external addresses sharing one new /24 (n=1: a lone host)."""
        a, b, c = self.new_external_slash24(rng)
        hosts = rng.choice(np.arange(2, 254), n, replace=False)
        out = []
        for k, h in enumerate(sorted(int(x) for x in hosts)):
            nm = names[k] if names else None
            out.append(self.book.add(f"{a}.{b}.{c}.{h}", False, nm))
        return out

    def take_user(self, rng: np.random.Generator) -> int:
        """A background workstation (IPv4) that no other scenario uses."""
        while True:
            u = int(self.users[int(rng.integers(len(self.users)))])
            if u not in self.taken:
                self.taken.add(u)
                return u

    def new_own_host(self) -> int:
        """An unused DHCP address (a device that only planted flows use)."""
        return self.book.add(self.free_dhcp.pop(), True)


def _v4(base: ipaddress.IPv4Network, third: int, host: int) -> str:
    return str(ipaddress.IPv4Address(int(base.network_address) + third * 256 + host))


def _zipf_weights(n: int, a: float) -> F64:
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** a
    return np.asarray(w / w.sum(), dtype=np.float64)


def _bg_prefixes(rng: np.random.Generator, n: int, avoid: set[tuple[int, int]]
                 ) -> list[tuple[int, int]]:
    firsts = np.array([a for a in range(11, 224) if a not in _AVOID_FIRST])
    out: list[tuple[int, int]] = []
    seen = set(avoid)
    while len(out) < n:
        key = (int(rng.choice(firsts)), int(rng.integers(0, 256)))
        if key not in seen and not is_special_v4(key[0] << 24 | key[1] << 16):
            seen.add(key)
            out.append(key)
    return out


def _pool(rng: np.random.Generator, book: AddressBook, prefixes: list[tuple[int, int]], n: int,
          used24: set[tuple[int, int, int]], unique24: bool = False) -> I32:
    out: list[int] = []
    while len(out) < n:
        a, b = prefixes[int(rng.integers(len(prefixes)))]
        c = int(rng.integers(0, 256))
        if (a, b, c) in used24:
            continue
        if unique24:
            used24.add((a, b, c))
        ip = f"{a}.{b}.{c}.{int(rng.integers(1, 255))}"
        if ip in book.index:
            continue
        out.append(book.add(ip, False))
    return np.array(out, dtype=np.int32)


def _v6_ext(rng: np.random.Generator) -> str:
    groups = [int(rng.integers(0, 0x1000)), *(int(g) for g in rng.integers(0, 0x10000, 6))]
    return str(ipaddress.IPv6Address("3fff:" + ":".join(f"{g:x}" for g in groups)))


def build_world(cfg: GeneratorConfig) -> World:
    """Lay out the organisation and its external peers for ``cfg.seed``."""
    rng = rng_for(cfg.seed, "world")
    book = AddressBook()
    own4 = ipaddress.IPv4Network(cfg.own_v4)
    dmz = ipaddress.IPv4Network(cfg.dmz_v4)
    own6 = ipaddress.IPv6Network(cfg.own_v6)
    blocks = {"net": 0, "srv": 10, "app": 11}
    hosts: dict[str, Host] = {}
    role_of: dict[int, str] = {}
    for name, role, owner, crit, block, num in _SERVERS:
        if block == "dmz":
            ip = str(ipaddress.IPv4Address(int(dmz.network_address) + num))
        elif block == "v6":
            ip = str(ipaddress.IPv6Address(int(own6.network_address) + num))
        else:
            ip = _v4(own4, blocks[block], num)
        dns = f"{name.removesuffix('-v6')}.{cfg.domain}"
        i = book.add(ip, True, dns)
        hosts[name] = Host(name, role, owner, crit, ip, i)
        role_of[i] = role

    # Workstations: DHCP addresses drawn without replacement; the rest stay free.
    dhcp_base = int(own4.network_address) + 16 * 256
    dhcp = rng.permutation(np.arange(dhcp_base + 10, dhcp_base + 16 * 256 - 1))
    users = np.array([book.add(str(ipaddress.IPv4Address(int(a))), True)
                      for a in dhcp[:cfg.users]], dtype=np.int32)
    free_dhcp = [str(ipaddress.IPv4Address(int(a))) for a in dhcp[cfg.users:cfg.users + 200]]
    for u in users:
        role_of[int(u)] = "workstation"
    dual = rng.random(cfg.users) < cfg.dual_stack_share
    users6 = np.full(cfg.users, -1, dtype=np.int32)
    for k in np.nonzero(dual)[0]:
        iid = (1 << 63) | int(rng.integers(0, 1 << 62)) << 1 | 1
        users6[k] = book.add(str(ipaddress.IPv6Address(int(own6.network_address) + iid)), True)
        role_of[int(users6[k])] = "workstation"
    weight = rng.lognormal(0.0, 0.6, cfg.users)
    user_weight = np.asarray(weight / weight.sum(), dtype=np.float64)

    # External space: background /16s, and separate /16s kept for planted sources.
    n16 = max(200, cfg.external_peers // 40)
    bg16 = _bg_prefixes(rng, n16, set())
    planted16 = _bg_prefixes(rng, 40, set(bg16))
    used24: set[tuple[int, int, int]] = set()
    ca, cb = bg16[0]
    cc = int(rng.integers(0, 256))
    used24.add((ca, cb, cc))
    cdn = np.array([book.add(f"{ca}.{cb}.{cc}.{h}", False, f"edge-{h:03d}.fastcache-cdn.example")
                    for h in range(10, 58)], dtype=np.int32)
    e = cfg.external_peers
    pools: dict[str, I32] = {
        "web": _pool(rng, book, bg16, int(0.40 * e), used24),
        "saas": _pool(rng, book, bg16, int(0.05 * e), used24),
        "dns": _pool(rng, book, bg16, int(0.04 * e), used24),
        "ntp": _pool(rng, book, bg16, 40, used24),
        "mail_in": _pool(rng, book, bg16, int(0.03 * e), used24),
        "mx_out": _pool(rng, book, bg16, min(20, cfg.thresholds.fanout_min_peers // 2), used24),
        "clients": _pool(rng, book, bg16, int(0.30 * e), used24),
        "noise": _pool(rng, book, bg16, int(0.08 * e), used24, unique24=True),
        "partners": _pool(rng, book, bg16, 4, used24),
        "cdn": cdn,
    }
    pools["ext6"] = np.array([book.add(_v6_ext(rng), False) for _ in range(200)], np.int32)
    pools["clients6"] = np.array([book.add(_v6_ext(rng), False) for _ in range(400)], np.int32)
    weights = {
        "web": _zipf_weights(len(pools["web"]), 1.05),
        "dns": _zipf_weights(len(pools["dns"]), 0.9),
        "clients": _zipf_weights(len(pools["clients"]), 0.7),
        "mail_in": _zipf_weights(len(pools["mail_in"]), 0.8),
    }
    _name_externals(rng, book, pools)

    # Workstations' own small worlds: a few SaaS/CDN peers each (keeps fan-out bounded).
    t = cfg.thresholds
    cap = max(3, min(15, (t.fanout_min_peers - 14) // 2))
    personal_k = rng.integers(2, cap + 1, cfg.users)
    personal = np.zeros((cfg.users, cap), dtype=np.int32)
    for row in range(cfg.users):
        n_cdn = min(int(personal_k[row]), int(rng.integers(1, 4)))
        personal[row, :n_cdn] = rng.choice(cdn, n_cdn, replace=False)
        personal[row, n_cdn:] = rng.choice(pools["saas"], cap - n_cdn, replace=False)
    cap6 = max(2, cap // 2)
    personal6_k = rng.integers(1, cap6 + 1, cfg.users)
    personal6 = rng.choice(pools["ext6"], (cfg.users, cap6)).astype(np.int32)
    apps = np.array([hosts[n].idx for n in ("app01", "app02", "app03", "finance-app")], np.int32)
    user_apps_k = rng.integers(1, 4, cfg.users)
    user_apps = np.stack([rng.permutation(apps)[:3] for _ in range(cfg.users)]).astype(np.int32)

    # Each internet-noise source pokes at a fixed handful of DMZ addresses.
    dmz_all = np.array([book.add(str(ipaddress.IPv4Address(int(dmz.network_address) + h)), True)
                        for h in range(1, 255)], dtype=np.int32)
    noise_targets = rng.choice(dmz_all, (len(pools["noise"]), 3)).astype(np.int32)

    open_ports = {h.idx: ROLE_OPEN_PORTS[h.role] for h in hosts.values()}
    servers_v4 = [h for h in hosts.values() if ":" not in h.ip]
    monitored = np.array([h.idx for h in servers_v4 if h.role not in ("monitoring",)], np.int32)
    # Backups reach few enough servers to stay under low_and_slow_min_hosts (with DNS, NTP).
    backup_targets = np.array([hosts[n].idx for n in (
        "dc01", "files01", "db01", "finance-app", "app01", "dc02", "db02", "app02", "app03",
        "etl01", "mail01")][:cfg.thresholds.low_and_slow_min_hosts - 3], np.int32)
    rogue_ip = _v4(own4, 99, 23)
    ranges: list[dict[str, Any]] = [
        {"cidr": _v4(own4, 0, 0) + "/24", "kind": "static", "role": "router"},
        {"cidr": _v4(own4, 10, 0) + "/24", "kind": "static", "role": None},
        {"cidr": _v4(own4, 11, 0) + "/24", "kind": "static", "role": None},
        {"cidr": _v4(own4, 16, 0) + "/20", "kind": "dhcp", "role": "workstation"},
        {"cidr": str(dmz), "kind": "static", "role": None},
        {"cidr": str(ipaddress.IPv6Network((int(own6.network_address), 120))), "kind": "static",
         "role": None},
        {"cidr": str(ipaddress.IPv6Network((int(own6.network_address) | 1 << 63, 65))),
         "kind": "dhcp", "role": "workstation"},
    ]
    return World(
        cfg=cfg, book=book, hosts=hosts, role_of=role_of, users=users, users6=users6,
        user_weight=user_weight, personal=personal, personal_k=personal_k, personal6=personal6,
        personal6_k=personal6_k, user_apps=user_apps, user_apps_k=user_apps_k, pools=pools,
        weights=weights, noise_targets=noise_targets, cdn_prefix=f"{ca}.{cb}.{cc}.0/24",
        dmz_all=dmz_all, open_ports=open_ports, monitored=monitored,
        backup_targets=backup_targets, free_dhcp=free_dhcp, planted_prefixes=planted16,
        used24=used24, rogue_ip=rogue_ip, ranges=ranges,
        whitelist=[(hosts["vscan01"].ip, "sanctioned vulnerability scanner (vscan01)"),
                   (hosts["mon01"].ip + "/32", "monitoring server (mon01): pings and NRPE")],
    )


def _name_externals(rng: np.random.Generator, book: AddressBook, pools: dict[str, I32]) -> None:
    """Reverse-DNS-like names for part of the external population, a few of them hostile."""
    for k, i in enumerate(pools["web"]):
        if rng.random() < 0.5:
            book.names[int(i)] = f"{_WORDS[k % len(_WORDS)]}-{k}.example"
    for k, i in enumerate(pools["saas"]):
        book.names[int(i)] = f"api-{k % 7}.saas-{k // 7}.example"
    for k, i in enumerate(pools["dns"]):
        book.names[int(i)] = f"ns{1 + k % 2}.dnshost-{k // 2}.example"
    for k, i in enumerate(pools["ntp"]):
        book.names[int(i)] = f"time{k}.ntp-pool.example"
    for k, i in enumerate(pools["mail_in"]):
        book.names[int(i)] = f"mx{1 + k % 3}.mailer-{k // 3}.example"
    for k, i in enumerate(pools["mx_out"]):
        book.names[int(i)] = f"smtp-in.partner-{k}.example"
    for k, i in enumerate(pools["partners"]):
        book.names[int(i)] = f"sftp.partner-{k}.example"
    for k, i in enumerate(pools["clients"]):
        if rng.random() < 0.1:
            book.names[int(i)] = f"dsl-{k}.isp-{k % 23}.example"
    hostile = rng.choice(pools["web"][:200], len(HOSTILE_NAMES), replace=False)
    for i, name in zip(hostile, HOSTILE_NAMES, strict=True):
        book.names[int(i)] = name
