"""What every analysis shares: findings, the registry entry, stable ids.

An analysis is a function ``run(ctx, params) -> list[Finding]`` over the workspace (DuckDB over
the Parquet tables, NetworkX only for bounded structure), registered once with its typed
parameters (defaults from :class:`graphflow.config.Thresholds`) and the name of its Cypher twin
``cypher/<name>.cypher``. Every finding can be drilled down to the exact flows behind its
figures through ``flows_sql``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Analysis", "Finding", "FindingIds", "Param", "finding_id"]


def finding_id(analysis: str, entity: str, key: dict[str, Any], params: dict[str, Any]) -> str:
    """A stable id: the same data and parameters give the same id.

    >>> finding_id("fanout_scanners", "10.0.0.1", {"day": "2026-03-02"}, {"min_peers": 50})
    'fanout_scanners-86cef54380b7abed'
    """
    return FindingIds(analysis, params)(entity, key)


def _dumps(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


class FindingIds:
    """:func:`finding_id` for many findings of one run: the parameters are encoded once.

    The id hashes the text of ``json.dumps([analysis, entity, key, params])`` (sorted keys),
    built here piece by piece (a JSON list is its items joined by ``", "``).

    >>> FindingIds("fanout_scanners", {"min_peers": 50})("10.0.0.1", {"day": "2026-03-02"})
    'fanout_scanners-86cef54380b7abed'
    """

    def __init__(self, analysis: str, params: dict[str, Any]) -> None:
        self.analysis = analysis
        self._head = f"[{_dumps(analysis)}, "
        self._tail = f", {_dumps(params)}]"

    def __call__(self, entity: str, key: dict[str, Any]) -> str:
        doc = f"{self._head}{_dumps(entity)}, {_dumps(key)}{self._tail}"
        return f"{self.analysis}-{hashlib.sha256(doc.encode()).hexdigest()[:16]}"


@dataclass
class Finding:
    """One result of an analysis.

    ``entity`` is the IP the finding is about; ``members`` the IPs of a group (or the peers
    of a neighbourhood); ``figures`` the key numbers; ``evidence`` the thresholds that fired
    and the parameters used; ``drill`` what selects the flows behind the figures (kept with
    the finding so that ``flows --finding`` returns exactly those flows).
    """

    id: str
    analysis: str
    entity: str
    members: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    drill: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "analysis": self.analysis, "entity": self.entity,
                "members": self.members, "figures": self.figures, "evidence": self.evidence}


@dataclass(frozen=True)
class Param:
    """A typed analysis parameter; ``default_from`` names a Thresholds field."""

    name: str
    type: type
    help: str
    default: Any = None
    default_from: str | None = None


@dataclass(frozen=True)
class Analysis:
    name: str
    summary: str
    explain: str
    params: tuple[Param, ...]
    run: Callable[..., list[Finding]]
    cypher: str | None = None
    #: The order findings are listed in, on every backend (embedded ``run`` applies it too).
    order: Callable[[Finding], Any] | None = None
    #: Extra parameters of the Cypher twin beside the analysis parameters (constants the
    #: query needs, e.g. fixed texts), from the full parameters; not part of the evidence.
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    #: The drill-down keys ``[day, src_ip, dst_ip, dst_port, proto]`` of one finding,
    #: computed when asked (``flows --finding``, exports) rather than stored with it: for
    #: analyses whose findings stand on tens of thousands of edges (a top talker's). Called
    #: with an open :class:`~graphflow.analyses.context.Context` and the finding.
    drill_edges: Callable[..., list[list[Any]]] | None = None
