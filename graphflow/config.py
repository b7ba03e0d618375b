"""Configuration, declared once: every setting and every detector threshold lives here.

Layers, each overriding the one before: the defaults below, then a TOML config file
(``graphflow.toml`` in the workspace, or ``--config``), then ``GRAPHFLOW_<NAME>`` environment
variables, then CLI flags. Values are validated when loaded; an error names the key.

Detector thresholds never appear as literals in analysis code: analyses read them from
:class:`Thresholds`, and the synthetic generator plants its near-misses just below them.

Examples
--------
>>> t = Thresholds()
>>> t.fanout_min_peers
50
>>> load_config(env={"GRAPHFLOW_FANOUT_MIN_PEERS": "40"}).thresholds.fanout_min_peers
40
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphflow.errors import ConfigError

__all__ = [
    "DEFAULT_WORKSPACE",
    "Config",
    "Thresholds",
    "load_config",
    "resolve_workspace",
    "settings_markdown",
]

DEFAULT_WORKSPACE = "graphflow-workspace"


def _s(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Thresholds:
    """Detector thresholds. Each ``help`` explains the choice."""

    fanout_min_peers: int = _s(
        50,
        "Horizontal scan / fan-out: a source reaching at least this many distinct peers in one "
        "day (any port, or one port). Busy clients reach 10-30 distinct servers a day; a sweep "
        "of a /24 reaches 250.",
    )
    fanout_min_failed_share: float = _s(
        0.5,
        "Fan-out: and the peers it reached with such contacts are at least this share of all "
        "the peers it reached that day, so a proxy or resolver whose 1% of failures adds up "
        "to many peers at high volume is not a sweep.",
    )
    vertical_min_ports: int = _s(
        25,
        "Vertical scan: a source probing at least this many distinct ports on one target in one "
        "day. Ordinary clients use a handful of ports per server.",
    )
    syn_only_min_flows: int = _s(
        30,
        "Failed-connection scanner: at least this many flows that got no answer "
        "(S0/REJ/SYN-only) from one source in one day.",
    )
    syn_only_min_ratio: float = _s(
        0.8,
        "Failed-connection scanner: and at least this share of the source's flows failed, so a "
        "busy host with a few failures is not flagged.",
    )
    low_traffic_max_pkts: int = _s(
        30,
        "Low-traffic table: a (day, peer, own host, own port) row is kept when its packets, "
        "summed over both directions, are at most this (trafMon default).",
    )
    low_traffic_max_bytes: int = _s(
        3000,
        "Low-traffic table: and its bytes over both directions are at most this.",
    )
    scanner_max_pkts: int = _s(
        20, "Top scanners: the low-profile cut-off in packets (trafMon's synthesis default)."
    )
    scanner_max_bytes: int = _s(2000, "Top scanners: the low-profile cut-off in bytes.")
    top_n: int = _s(5, "Top-N tables: how many ranks to show (ties included).")
    low_and_slow_min_days: int = _s(
        3, "Low-and-slow scan: the source is active on at least this many distinct days."
    )
    low_and_slow_min_hosts: int = _s(
        20,
        "Low-and-slow scan: over the whole period it touches at least this many distinct own "
        "hosts, while staying under fanout_min_peers on every single day.",
    )
    coordinated_prefix_v4: int = _s(24, "Coordinated scanners: IPv4 grouping prefix length.")
    coordinated_prefix_v6: int = _s(64, "Coordinated scanners: IPv6 grouping prefix length.")
    coordinated_min_members: int = _s(
        3, "Coordinated scanners: at least this many sources in a group."
    )
    coordinated_min_hosts: int = _s(
        40,
        "Coordinated scanners: the group together reaches at least this many distinct own hosts "
        "with low-profile (no-answer or tiny) flows.",
    )
    ingress_peak_factor: float = _s(
        2.0,
        "Daily ingress peak: a host's top day exceeds its second-highest day by this factor.",
    )
    ingress_peak_min_bytes: int = _s(
        10_000_000,
        "Daily ingress peak: ignore hosts whose top day is below this many bytes (noise).",
    )
    hva_hops: int = _s(1, "HVA neighbourhood: k, the number of hops around each HVA.")
    hva_new_window_days: int = _s(
        7,
        "HVA neighbourhood: peers first seen in the last this-many days of the data (and not "
        "before) are reported as new.",
    )
    got_in_min_probed_hosts: int = _s(
        5,
        "Scanner that got in: the peer first probed at least this many own hosts with "
        "low-profile flows, so one ordinary failed connection before a session is not enough.",
    )


@dataclass(frozen=True)
class Config:
    """Runtime settings (not detector thresholds)."""

    workspace: Path = _s(Path(DEFAULT_WORKSPACE), "Workspace directory (the embedded store).")
    batch_bytes: int = _s(
        32 * 1024 * 1024,
        "Ingest reads input in blocks of this many bytes; bounds memory per block.",
    )
    duckdb_memory_limit: str = _s(
        "1GB", "Memory limit for DuckDB when finalising an ingest (it spills to disk beyond)."
    )
    thresholds: Thresholds = field(default_factory=Thresholds, metadata={"help": "Thresholds."})


def resolve_workspace(explicit: str | os.PathLike[str] | None = None,
                      env: Mapping[str, str] | None = None) -> Path:
    """``--workspace``, else ``GRAPHFLOW_WORKSPACE``, else ``./graphflow-workspace``.

    >>> resolve_workspace(None, {}).name
    'graphflow-workspace'
    >>> str(resolve_workspace("/tmp/ws", {}))
    '/tmp/ws'
    """
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit)
    if env.get("GRAPHFLOW_WORKSPACE"):
        return Path(env["GRAPHFLOW_WORKSPACE"])
    return Path(DEFAULT_WORKSPACE)


def _coerce(key: str, raw: Any, target: Any) -> Any:
    try:
        if isinstance(target, bool):
            if isinstance(raw, str):
                if raw.lower() in ("1", "true", "yes", "on"):
                    return True
                if raw.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(raw)
            return bool(raw)
        if isinstance(target, int):
            value: Any = int(raw)
            if value < 0:
                raise ValueError(raw)
            return value
        if isinstance(target, float):
            value = float(raw)
            if value < 0:
                raise ValueError(raw)
            return value
        if isinstance(target, Path):
            return Path(raw)
        return str(raw)
    except (TypeError, ValueError):
        expected = type(target).__name__
        raise ConfigError(key, f"invalid value {raw!r} (expected {expected})") from None


def _apply(obj: Any, values: Mapping[str, Any], origin: str) -> Any:
    names = {f.name for f in dataclasses.fields(obj)}
    changes = {}
    for key, raw in values.items():
        if key not in names:
            raise ConfigError(key, f"unknown setting (from {origin})")
        changes[key] = _coerce(key, raw, getattr(obj, key))
    return dataclasses.replace(obj, **changes)


def load_config(path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """Build the configuration from defaults, file, environment and explicit overrides."""
    env = os.environ if env is None else env
    cfg = Config()
    th = cfg.thresholds
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(str(path), f"cannot read config file: {exc}") from None
        th = _apply(th, data.pop("thresholds", {}), str(path))
        cfg = _apply(cfg, data, str(path))
    th_names = {f.name for f in dataclasses.fields(Thresholds)}
    cfg_names = {f.name for f in dataclasses.fields(Config)} - {"thresholds"}
    def from_env(names: set[str]) -> dict[str, str]:
        return {n: env[f"GRAPHFLOW_{n.upper()}"] for n in names if f"GRAPHFLOW_{n.upper()}" in env}

    env_th = from_env(th_names)
    env_cfg = from_env(cfg_names)
    th = _apply(th, env_th, "environment")
    cfg = _apply(cfg, env_cfg, "environment")
    if overrides:
        th = _apply(th, {k: v for k, v in overrides.items() if k in th_names}, "arguments")
        cfg = _apply(cfg, {k: v for k, v in overrides.items() if k in cfg_names}, "arguments")
    result: Config = dataclasses.replace(cfg, thresholds=th)
    return result


def settings_markdown() -> str:
    """Every setting with its default and help, as Markdown (docs/configuration.md)."""
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for cls in (Config, Thresholds):
        for f in dataclasses.fields(cls):
            if f.name == "thresholds":
                continue
            default = f.default if f.default is not dataclasses.MISSING else ""
            lines.append(f"| `{f.name}` | `{default}` | {f.metadata.get('help', '')} |")
    return "\n".join(lines)
