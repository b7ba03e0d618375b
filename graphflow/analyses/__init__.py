"""The analyses: one module per analysis, registered once here.

Each entry names its embedded implementation and its Cypher twin (``cypher/<name>.cypher``).
Library calls: :func:`run_analysis`, :func:`get_finding`, :func:`finding_flows`.
"""

from __future__ import annotations

from graphflow.analyses.base import Analysis, Finding, Param, finding_id
from graphflow.analyses.registry import (
    REGISTRY,
    analysis_params,
    finding_flows,
    get_finding,
    list_analyses,
    run_analysis,
)

__all__ = [
    "REGISTRY",
    "Analysis",
    "Finding",
    "Param",
    "analysis_params",
    "finding_flows",
    "finding_id",
    "get_finding",
    "list_analyses",
    "run_analysis",
]
