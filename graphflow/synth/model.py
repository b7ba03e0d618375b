"""The generator's configuration and its ground truth, as dataclasses mirroring the JSON.

Examples
--------
>>> cfg = GeneratorConfig(days=8, flows_per_day=500)
>>> cfg.validate()
>>> cfg.own_networks
['10.10.0.0/16', '198.51.100.0/24', '2001:db8:a:10::/64']
>>> GeneratorConfig(days=3).validate()
Traceback (most recent call last):
...
graphflow.errors.ConfigError: config days: must be at least 8 (week-earlier comparisons), got 3
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.config import Thresholds
from graphflow.errors import ConfigError

__all__ = [
    "GeneratorConfig",
    "GroundTruth",
    "Lookalike",
    "NearMiss",
    "Positive",
    "load_ground_truth",
]

Figures = dict[str, Any]


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Same configuration, byte-identical output."""

    seed: int = 42
    #: UTC date of day 0 (a Monday by default).
    start: str = "2026-03-02"
    #: Number of days; at least 8 so that week-earlier comparisons exist.
    days: int = 14
    #: Background volume target per weekday (weekends are far lower).
    flows_per_day: int = 20_000
    #: ``"tsv"`` (Zeek ASCII with header) or ``"json"`` (Zeek JSON lines).
    fmt: str = "tsv"
    #: Write hourly-rotated gzip logs under ``conn/`` instead of one ``conn.log``.
    rotate: bool = False
    #: Internal IPv4 network: servers 10.10.10.0/24, app tier .11.0/24, DHCP .16.0/20.
    own_v4: str = "10.10.0.0/16"
    #: The DMZ: the organisation's public /24 (documentation range, never routed).
    dmz_v4: str = "198.51.100.0/24"
    #: The organisation's IPv6 /64.
    own_v6: str = "2001:db8:a:10::/64"
    #: DNS domain of internal names.
    domain: str = "corp.example"
    #: Workstations on DHCP.
    users: int = 400
    #: Share of workstations that also have a (SLAAC) IPv6 address.
    dual_stack_share: float = 0.25
    #: Size of the background external population (web sites, resolvers, clients, ...).
    external_peers: int = 12_000
    #: Local time of the site is UTC plus this many hours (business hours 08-18 local).
    utc_offset_hours: int = 1
    #: Workstation activity on weekend days, as a share of a weekday's.
    weekend_factor: float = 0.12
    #: Detector thresholds: near-misses are planted just below them.
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def own_networks(self) -> list[str]:
        return [self.own_v4, self.dmz_v4, self.own_v6]

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(self.start)

    def validate(self) -> None:
        """Raise :class:`~graphflow.errors.ConfigError` naming the first bad setting."""
        try:
            dt.date.fromisoformat(self.start)
        except ValueError:
            raise ConfigError("start", f"expected YYYY-MM-DD, got {self.start!r}") from None
        if self.days < 8:
            raise ConfigError(
                "days", f"must be at least 8 (week-earlier comparisons), got {self.days}")
        if self.flows_per_day < 1:
            raise ConfigError("flows_per_day", f"must be positive, got {self.flows_per_day}")
        if self.fmt not in ("tsv", "json"):
            raise ConfigError("fmt", f"expected 'tsv' or 'json', got {self.fmt!r}")
        if not 1 <= self.users <= 4000:
            raise ConfigError("users", f"must be between 1 and 4000, got {self.users}")
        if self.external_peers < 2000:
            raise ConfigError("external_peers", f"must be at least 2000, got {self.external_peers}")
        nets = {"own_v4": (self.own_v4, 4, 16), "dmz_v4": (self.dmz_v4, 4, 24),
                "own_v6": (self.own_v6, 6, 64)}
        for key, (text, version, prefix) in nets.items():
            try:
                net = ipaddress.ip_network(text)
            except ValueError:
                raise ConfigError(key, f"not a network: {text!r}") from None
            if net.version != version or net.prefixlen != prefix:
                raise ConfigError(key, f"expected an IPv{version} /{prefix}, got {text}")
        t = self.thresholds
        if t.fanout_min_peers < 20:
            raise ConfigError("fanout_min_peers",
                              "the generator needs at least 20 to keep ordinary clients below it")
        if t.fanout_min_peers + 60 > 250 or t.coordinated_min_hosts + 20 > 250:
            raise ConfigError("fanout_min_peers", "scans must fit in the DMZ /24 (at most 190)")
        if t.vertical_min_ports < 6 or t.syn_only_min_flows < 8:
            raise ConfigError("vertical_min_ports",
                              "needs vertical_min_ports >= 6 and syn_only_min_flows >= 8")
        if not 0.2 <= t.syn_only_min_ratio <= 0.95:
            raise ConfigError("syn_only_min_ratio", "must be between 0.2 and 0.95")
        if t.low_and_slow_min_days + 3 > self.days or t.low_and_slow_min_days < 2:
            raise ConfigError("low_and_slow_min_days",
                              f"must be between 2 and days - 3 ({self.days - 3})")
        per_source = min(t.fanout_min_peers, t.syn_only_min_flows) - 1
        if t.coordinated_min_hosts + 12 > per_source * t.coordinated_min_members:
            raise ConfigError("coordinated_min_hosts",
                              "cannot be covered by coordinated_min_members - 1 sources that "
                              "each stay under fanout_min_peers and syn_only_min_flows")
        if t.low_and_slow_min_hosts < 12:
            raise ConfigError("low_and_slow_min_hosts", "must be at least 12 (workstations "
                              "reach up to 10 internal servers over the period)")
        if t.coordinated_min_members < 2:
            raise ConfigError("coordinated_min_members", "must be at least 2")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Positive:
    """A planted attacker: ``analysis`` should report ``entity`` (figures from the flows)."""

    analysis: str
    entity: str
    members: list[str]
    figures: Figures
    days: list[str]
    #: The scenario that planted it (differs from ``analysis`` when a planted attacker also
    #: crosses another analysis' thresholds, e.g. a horizontal scanner that is SYN-only too).
    planted_as: str = ""


@dataclass(frozen=True)
class NearMiss:
    """Planted just below one threshold: ``analysis`` must not report ``entity``."""

    analysis: str
    entity: str
    members: list[str]
    #: Name of the threshold in :class:`graphflow.config.Thresholds`.
    threshold: str
    #: The entity's value, measured on the written flows (just below ``threshold_value``).
    value: float
    threshold_value: float
    #: ``threshold_value - value``.
    margin: float
    figures: Figures


@dataclass(frozen=True)
class Lookalike:
    """Benign traffic that resembles what ``mimics`` look for; must not be reported."""

    kind: str
    entity: str
    members: list[str]
    mimics: list[str]
    why: str
    figures: Figures = field(default_factory=dict)


@dataclass(frozen=True)
class GroundTruth:
    """Everything planted, with figures recomputed from the written flows (ground_truth.json)."""

    generator: dict[str, Any]
    start: str
    days: int
    flows: int
    own_networks: list[str]
    positives: list[Positive]
    near_misses: list[NearMiss]
    lookalikes: list[Lookalike]
    #: How the figures are computed (failed states, low-profile flow, ingress, ...).
    definitions: dict[str, str] = field(default_factory=dict)
    #: Self-audit over all written flows: threshold crossings nobody planted and plants that
    #: did not come out as intended. Both lists are empty for a sound dataset.
    audit: dict[str, list[Figures]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def positives_for(self, analysis: str) -> list[Positive]:
        return [p for p in self.positives if p.analysis == analysis]


def load_ground_truth(path: str | Path) -> GroundTruth:
    """Read ``ground_truth.json`` back into a :class:`GroundTruth`."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return GroundTruth(
        generator=doc["generator"], start=doc["start"], days=doc["days"], flows=doc["flows"],
        own_networks=doc["own_networks"],
        positives=[Positive(**p) for p in doc["positives"]],
        near_misses=[NearMiss(**n) for n in doc["near_misses"]],
        lookalikes=[Lookalike(**x) for x in doc["lookalikes"]],
        definitions=doc.get("definitions", {}), audit=doc.get("audit", {}),
    )
