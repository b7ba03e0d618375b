"""The analyses, as the web UI uses them: a thin adapter over :mod:`graphflow.analyses`.

The analyses module is optional at run time (see :mod:`web.features`): without it every
function here raises a 404 :class:`web.errors.ApiError` that says why, and the UI hides the
findings pages. Results are cached per workspace snapshot and parameters, so the host panel's
"its findings" does not re-run every analysis on each click.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections import OrderedDict
from typing import Any

import pyarrow as pa

from graphflow.errors import GraphFlowError
from web.errors import ApiError
from web.features import OPTIONAL, feature_module, feature_reason
from web.jsonable import jsonable, jsonable_row
from web.params import Args
from web.source import DataSource

__all__ = ["analysis_params", "finding_doc", "finding_flows_page", "finding_flows_table",
           "host_findings", "list_analyses", "run"]

logger = logging.getLogger(__name__)

_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
#: Query parameters of /api/analyses/<name> that are not analysis parameters.
RESERVED = ("limit", "offset")


def _module() -> Any:
    module = feature_module("analyses")
    if module is None:
        reason = feature_reason("analyses") or OPTIONAL["analyses"][2]
        raise ApiError(f"analyses are not available: {reason}", status=404)
    return module


def _analysis(name: str) -> Any:
    registry = _module().REGISTRY
    if name not in registry:
        raise ApiError(f"no analysis named {name!r} (known: {', '.join(sorted(registry))})",
                       status=404, param="name")
    return registry[name]


def _type_name(t: Any) -> str:
    return getattr(t, "__name__", str(t))


def _cypher_text(analysis: Any) -> str | None:
    name = getattr(analysis, "cypher", None)
    if not name:
        return None
    fname = name if str(name).endswith(".cypher") else f"{name}.cypher"
    try:
        return (importlib.resources.files("cypher") / fname).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        return None


def list_analyses() -> list[dict[str, Any]]:
    """Every registered analysis with its parameters and defaults."""
    module = _module()
    out = []
    for name, a in sorted(module.REGISTRY.items()):
        effective: dict[str, Any] = {}
        resolve = getattr(module, "analysis_params", None)
        if callable(resolve):
            try:
                effective = dict(resolve(name))
            except GraphFlowError:
                effective = {}
        out.append({
            "name": name, "summary": getattr(a, "summary", ""),
            "explain": getattr(a, "explain", ""),
            "params": [{"name": p.name, "type": _type_name(p.type), "help": p.help,
                        "default": jsonable(effective.get(p.name, p.default)),
                        "default_from": getattr(p, "default_from", None)}
                       for p in getattr(a, "params", ())],
            "cypher": getattr(a, "cypher", None),
        })
    return out


def analysis_params(name: str, args: Args) -> dict[str, Any]:
    """The analysis parameters given in the query string, typed; unknown names are a 400."""
    a = _analysis(name)
    declared = {p.name: p for p in getattr(a, "params", ())}
    out: dict[str, Any] = {}
    for key in args.names():
        if key in RESERVED:
            continue
        if key not in declared:
            raise ApiError(f"{key}: not a parameter of {name} (it takes: "
                           f"{', '.join(declared) or 'none'})", param=key)
        p = declared[key]
        if p.type is bool:
            out[key] = args.flag(key)
        elif p.type is int:
            out[key] = args.integer(key, 0, lo=-(2**62))
        elif p.type is float:
            raw = args.text(key) or ""
            try:
                out[key] = float(raw)
            except ValueError:
                raise ApiError(f"{key} {raw!r}: expected a number", param=key) from None
        else:
            out[key] = args.text(key, max_len=256)
    return out


def run(source: DataSource, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings of ``name`` with ``params`` (cached per workspace state)."""
    module = _module()
    _analysis(name)
    snap = source.snapshot()
    key = f"run:{name}:{sorted(params.items())!r}"
    with snap.lock:
        cached = snap.cache.get(key)
    if cached is not None:
        result: list[dict[str, Any]] = cached
        return result
    findings = module.run_analysis(source.ws, name, params or None)
    docs = [jsonable(f.to_dict()) for f in findings]
    with snap.lock:
        snap.cache[key] = docs
    return docs


def _check_id(finding_id: str) -> None:
    if not _ID_RE.match(finding_id):
        raise ApiError(f"finding id {finding_id[:80]!r}: not a finding id", param="id")


def finding_doc(source: DataSource, finding_id: str) -> dict[str, Any]:
    """One finding with the query behind it (analysis, parameters, Cypher twin)."""
    _check_id(finding_id)
    module = _module()
    snap = source.snapshot()
    with snap.lock:
        cached = snap.cache.get(f"finding:{finding_id}")
    if cached is not None:
        result: dict[str, Any] = cached
        return result
    try:
        finding = module.get_finding(source.ws, finding_id)
    except GraphFlowError as exc:
        raise ApiError(str(exc), status=404, param="id") from None
    doc: dict[str, Any] = jsonable(finding.to_dict())
    analysis = module.REGISTRY.get(doc.get("analysis"))
    evidence = doc.get("evidence") or {}
    doc["query"] = {"analysis": doc.get("analysis"),
                    "params": evidence.get("params", evidence) if isinstance(
                        evidence, dict) else evidence,
                    "cypher": _cypher_text(analysis) if analysis is not None else None}
    with snap.lock:
        snap.cache[f"finding:{finding_id}"] = doc
    return doc


#: Findings whose flows are kept in memory per snapshot (each at most CACHE_ROWS flows).
CACHE_FINDINGS = 16
CACHE_ROWS = 200_000


def _all_flows(source: DataSource, finding_id: str) -> pa.Table | None:
    """Every flow behind a finding, cached (None when there are more than CACHE_ROWS)."""
    snap = source.snapshot()
    with snap.lock:
        lru: OrderedDict[str, pa.Table | None] = snap.cache.setdefault(
            "finding_flows", OrderedDict())
        if finding_id in lru:
            lru.move_to_end(finding_id)
            return lru[finding_id]
    finding_doc(source, finding_id)  # 404 for an unknown finding
    try:
        table: pa.Table = _module().finding_flows(source.ws, finding_id, limit=CACHE_ROWS + 1,
                                                  offset=0)
    except GraphFlowError as exc:
        raise ApiError(str(exc), status=404, param="id") from None
    kept = table if table.num_rows <= CACHE_ROWS else None
    with snap.lock:
        lru[finding_id] = kept
        while len(lru) > CACHE_FINDINGS:
            lru.popitem(last=False)
    return kept


def finding_flows_table(source: DataSource, finding_id: str, limit: int,
                        offset: int = 0) -> pa.Table:
    """``limit`` flows behind a finding from ``offset`` (in time order)."""
    _check_id(finding_id)
    every = _all_flows(source, finding_id)
    if every is not None:
        return every.slice(offset, limit)
    try:
        table: pa.Table = _module().finding_flows(source.ws, finding_id, limit=limit,
                                                  offset=offset)
    except GraphFlowError as exc:
        raise ApiError(str(exc), status=404, param="id") from None
    return table


def _total(source: DataSource, finding_id: str) -> int:
    every = _all_flows(source, finding_id)
    if every is not None:
        return int(every.num_rows)
    snap = source.snapshot()
    with snap.lock:
        total = snap.cache.get(f"total:{finding_id}")
    if total is None:
        total, step = 0, 50_000
        while True:  # more flows than we keep: count them by paging once
            part = finding_flows_table(source, finding_id, step, total)
            total += part.num_rows
            if part.num_rows < step:
                break
        with snap.lock:
            snap.cache[f"total:{finding_id}"] = total
    return int(total)


def finding_flows_page(source: DataSource, finding_id: str, limit: int,
                       offset: int) -> dict[str, Any]:
    """A page of the flows behind a finding, with their total."""
    table = finding_flows_table(source, finding_id, limit, offset)
    return {"ok": True, "id": finding_id, "total": _total(source, finding_id), "limit": limit,
            "offset": offset, "columns": table.column_names,
            "flows": [jsonable_row(r) for r in table.to_pylist()]}


def host_findings(source: DataSource, ip: str) -> dict[str, Any]:
    """The findings (default parameters) whose entity or members include ``ip``."""
    module = _module()
    hits: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for name in sorted(module.REGISTRY):
        try:
            docs = run(source, name, {})
        except GraphFlowError as exc:  # e.g. an analysis that needs a parameter
            skipped.append({"analysis": name, "reason": str(exc)})
            continue
        for d in docs:
            if d.get("entity") == ip or ip in (d.get("members") or []):
                hits.append(d)
    return {"ok": True, "ip": ip, "findings": hits, "skipped": skipped}
