"""The analysis registry, parameter resolution, the findings cache and drill-down."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from graphflow.analyses.base import Analysis, Finding
from graphflow.analyses.context import open_context
from graphflow.config import Thresholds
from graphflow.db import fetch_arrow
from graphflow.edges import FAILED_SQL
from graphflow.errors import ConfigError, GraphFlowError, UnknownAnalysis
from graphflow.workspace import Workspace

__all__ = ["REGISTRY", "analysis_params", "finding_flows", "get_finding", "list_analyses",
           "run_analysis"]


def _load_registry() -> dict[str, Analysis]:
    from graphflow.analyses import (
        coordinated_scanners,
        fanout_scanners,
        hva_neighbourhood,
        ingress_peaks,
        low_and_slow,
        low_traffic,
        policy_violations,
        scanner_got_in,
        syn_only_scans,
        top_scanners,
        top_talkers,
        vertical_scans,
    )

    entries = [m.ANALYSIS for m in (
        fanout_scanners, vertical_scans, syn_only_scans, low_traffic, top_scanners,
        low_and_slow, coordinated_scanners, scanner_got_in, ingress_peaks, hva_neighbourhood,
        policy_violations, top_talkers)]
    return {a.name: a for a in entries}


REGISTRY: dict[str, Analysis] = _load_registry()


def list_analyses() -> list[Analysis]:
    return list(REGISTRY.values())


def _get(name: str) -> Analysis:
    key = name.replace("-", "_")
    if key not in REGISTRY:
        raise UnknownAnalysis(f"no analysis named {name!r} (known: {', '.join(REGISTRY)})")
    return REGISTRY[key]


def analysis_params(name: str, overrides: dict[str, Any] | None = None,
                    thresholds: Thresholds | None = None) -> dict[str, Any]:
    """The full parameter set of an analysis: defaults (from thresholds) plus overrides."""
    a = _get(name)
    th = thresholds or Thresholds()
    out: dict[str, Any] = {}
    for p in a.params:
        out[p.name] = getattr(th, p.default_from) if p.default_from else p.default
    for k, v in (overrides or {}).items():
        param = next((p for p in a.params if p.name == k), None)
        if param is None:
            raise ConfigError(k, f"not a parameter of {a.name} "
                                 f"(known: {', '.join(p.name for p in a.params)})")
        if v is None:
            continue
        try:
            out[k] = param.type(v)
        except (TypeError, ValueError):
            raise ConfigError(k, f"invalid value {v!r} for {a.name}") from None
    return out


def _cache_dir(ws: Workspace) -> Path:
    return ws.root / "findings"


def _cache_path(ws: Workspace, name: str, params: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return _cache_dir(ws) / f"v{ws.version:06d}" / f"{name}-{digest[:12]}.json"


def run_analysis(ws: Workspace, name: str, params: dict[str, Any] | None = None, *,
                 thresholds: Thresholds | None = None) -> list[Finding]:
    """Run an analysis on the embedded store; findings are cached per workspace version."""
    a = _get(name)
    full = analysis_params(a.name, params, thresholds)
    path = _cache_path(ws, a.name, full)
    if path.exists():
        return [Finding(**d) for d in json.loads(path.read_text())]
    with open_context(ws, thresholds) as ctx:
        findings = a.run(ctx, full)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([dataclasses.asdict(f) for f in findings], default=str))
    tmp.replace(path)
    return findings


def get_finding(ws: Workspace, finding_id: str) -> Finding:
    """A finding by id: from any cached run on this workspace version, else by running its
    analysis with default parameters."""
    name = finding_id.rsplit("-", 1)[0]
    if name not in REGISTRY:
        raise UnknownAnalysis(f"no finding {finding_id!r}: unknown analysis {name!r}")
    vdir = _cache_dir(ws) / f"v{ws.version:06d}"
    for path in sorted(vdir.glob(f"{name}-*.json")) if vdir.exists() else []:
        for d in json.loads(path.read_text()):
            if d["id"] == finding_id:
                return Finding(**d)
    for f in run_analysis(ws, name):
        if f.id == finding_id:
            return f
    raise GraphFlowError(f"no finding {finding_id!r} in this workspace (run 'graphflow analyze "
                         f"{name}' with the parameters that produced it)")


_FLOW_FILTERS = {
    None: "true",
    "all": "true",
    "failed": FAILED_SQL.replace("state", "f.state").replace("dst_pkts", "f.dst_pkts"),
    "answered": "NOT " + FAILED_SQL.replace("state", "f.state").replace("dst_pkts", "f.dst_pkts"),
}


def drill_edges(ws: Workspace, finding: Finding) -> list[list[Any]]:
    """The edge keys ``[day, src_ip, dst_ip, dst_port, proto]`` behind a finding: stored with
    it, or computed by its analysis's ``drill_edges`` (sorted by day, then addresses
    numerically, port and protocol either way)."""
    if "edges" in finding.drill:
        return list(finding.drill["edges"])
    a = _get(finding.analysis)
    if a.drill_edges is None:
        return []
    with open_context(ws) as ctx:
        return a.drill_edges(ctx, finding)


def finding_flows(ws: Workspace, finding_id: str, *, limit: int | None = None,
                  offset: int = 0) -> pa.Table:
    """Exactly the flows behind a finding's figures, with source file and line."""
    finding = get_finding(ws, finding_id)
    keys = drill_edges(ws, finding)
    flt = _FLOW_FILTERS.get(finding.drill.get("flow_filter"), "true")
    table = pa.table({
        "day": pa.array([k[0] for k in keys], pa.string()),
        "src_ip": pa.array([k[1] for k in keys], pa.string()),
        "dst_ip": pa.array([k[2] for k in keys], pa.string()),
        "dst_port": pa.array([k[3] for k in keys], pa.int64()),
        "proto": pa.array([k[4] for k in keys], pa.string()),
    })
    with open_context(ws) as ctx:
        ctx.con.register("drill_keys", table)
        lim = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit else ""
        sql = (
            "SELECT f.* EXCLUDE (day) FROM flows f JOIN drill_keys k "
            "ON f.day = CAST(k.day AS DATE) AND f.src_ip = k.src_ip AND f.dst_ip = k.dst_ip "
            "AND f.proto = k.proto AND f.dst_port IS NOT DISTINCT FROM k.dst_port "
            f"WHERE {flt} ORDER BY f.ts, f.source_file, f.source_line{lim}"
        )
        return fetch_arrow(ctx.con, sql)
