"""Run an analysis through its Cypher twin on Neo4j and build the same findings.

Each ``cypher/<name>.cypher`` returns the findings themselves, one row per finding, with:

``entity``
    the IP the finding is about;
``members``
    the IPs of a group (optional; sorted numerically here);
``key``
    a map that tells findings about the same entity apart, as the embedded twin passes it to
    :func:`~graphflow.analyses.base.finding_id` (optional, ``{}`` by default), so that the
    finding ids are identical on both backends;
``figures``
    a map of the key numbers, named and computed exactly as the embedded twin does;
``pairs``
    optional map ``{figure: [[k, v], ...]}`` for figures that are maps with data-dependent
    keys (e.g. ``failed_per_day``), which pure Cypher cannot build; they are merged into
    ``figures`` as dicts;
``fired``
    the thresholds that fired, as in the embedded evidence;
``evidence``
    optional map of further evidence entries beside ``fired`` and ``params`` (e.g.
    low_and_slow's ``below_every_day``).

Dates and times come back as ISO strings, as in the embedded findings. Nothing but these
aggregated rows leaves Neo4j; flows never do.
"""

from __future__ import annotations

from typing import Any

import neo4j

from graphflow.analyses.base import Finding, finding_id
from graphflow.analyses.common import iso, sort_ips
from graphflow.analyses.registry import _get, analysis_params
from graphflow.config import Thresholds
from graphflow.errors import GraphFlowError
from graphflow.query import ip_sort_key

__all__ = ["finding_from_row", "plain", "run_analysis_neo4j"]


def plain(value: Any) -> Any:
    """Dates/times as ISO strings, recursively (the embedded findings' JSON form)."""
    if isinstance(value, dict):
        return {str(iso(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return iso(value)


def finding_from_row(name: str, row: dict[str, Any], params: dict[str, Any]) -> Finding:
    """One Cypher result row (see the module doc) as a :class:`Finding`."""
    try:
        entity = str(row["entity"])
        figures = plain(dict(row["figures"] or {}))
    except KeyError as exc:
        raise GraphFlowError(f"cypher/{name}.cypher returned no {exc.args[0]!r} column") from None
    for fig, pairs in (row.get("pairs") or {}).items():
        figures[fig] = {str(plain(k)): plain(v) for k, v in sorted(
            pairs or [], key=lambda kv: str(plain(kv[0])))}
    key = plain(dict(row.get("key") or {}))
    return Finding(
        id=finding_id(name, entity, key, params), analysis=name, entity=entity,
        members=sort_ips(row.get("members") or []), figures=figures,
        evidence={"fired": plain(dict(row.get("fired") or {})),
                  **plain(dict(row.get("evidence") or {})), "params": params})


def run_analysis_neo4j(driver: neo4j.Driver, name: str, params: dict[str, Any] | None = None,
                       *, thresholds: Thresholds | None = None, database: str | None = None,
                       timeout: float | None = None) -> list[Finding]:
    """Run analysis ``name`` on Neo4j (its ``cypher/<name>.cypher``, parameterised, in a read
    transaction): the same findings, ids, figures and order as :func:`run_analysis`.

    Drill-down to flows stays with the workspace: the ids are the embedded ones, so
    ``graphflow flows --finding ID`` works on a finding from either backend.
    """
    from graphflow.stores.neo4j import run_cypher_file

    a = _get(name)
    if not a.cypher:
        raise GraphFlowError(f"analysis {a.name} has no Cypher twin")
    full = analysis_params(a.name, params, thresholds)
    query = {**full, **a.cypher_params(full)} if a.cypher_params else full
    rows = run_cypher_file(driver, a.cypher.removesuffix(".cypher"), query,
                           database=database, timeout=timeout)
    findings = [finding_from_row(a.name, r, full) for r in rows]
    return sorted(findings, key=a.order or (lambda f: (ip_sort_key(f.entity), f.id)))
