"""The parity check every Cypher twin passes: same findings, in the same order, with the
same ids, entities, members and figures as the embedded analysis (integers exactly, floats
to 1e-9), and the same evidence."""

from __future__ import annotations

import math
from typing import Any

import neo4j

from graphflow.analyses import Finding, run_analysis
from graphflow.analyses.neo4j_backend import run_analysis_neo4j
from graphflow.workspace import Workspace

__all__ = ["assert_parity", "assert_same_figures"]


def assert_same_figures(a: Any, b: Any, where: str) -> None:
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), (where, a, b)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (where, a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, a, b)
        for k in a:
            assert_same_figures(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_figures(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, (where, a, b)


def assert_parity(driver: neo4j.Driver, ws: Workspace, name: str,
                  params: dict[str, Any] | None = None, *, min_findings: int = 1,
                  ) -> list[Finding]:
    """Run ``name`` on both backends and compare every finding; return the findings."""
    embedded = run_analysis(ws, name, params)
    cypher = run_analysis_neo4j(driver, name, params)
    assert len(embedded) >= min_findings, f"{name}: {len(embedded)} embedded findings"
    assert [f.id for f in cypher] == [f.id for f in embedded], name
    for e, c in zip(embedded, cypher, strict=True):
        assert (c.entity, c.members) == (e.entity, e.members), e.id
        assert_same_figures(e.figures, c.figures, f"{e.id}.figures")
        assert_same_figures(e.evidence, c.evidence, f"{e.id}.evidence")
    return embedded
