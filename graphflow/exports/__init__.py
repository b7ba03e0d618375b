"""Graph exports: GDF and GEXF for Gephi, DOT for Graphviz, GraphML, Cytoscape.js JSON, CSV.

One module per format, each a ``write_<format>(graph, out)`` over Arrow tables; the graph comes
from :func:`build_graph` (a :class:`Selection` of the workspace) and is styled by
:func:`style_graph` (the rules of :mod:`graphflow.rules`). :func:`export_graph` does all three.

>>> sorted(FORMATS)
['csv', 'cytoscape', 'dot', 'gdf', 'gexf', 'graphml']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from typing import IO, Any

from graphflow.errors import GraphFlowError
from graphflow.exports.base import WriteReport
from graphflow.exports.csv import write_csv
from graphflow.exports.cytoscape import write_cytoscape
from graphflow.exports.dot import DotLayout, render_dot, write_dot
from graphflow.exports.gdf import write_gdf
from graphflow.exports.gexf import write_gexf
from graphflow.exports.graphml import write_graphml
from graphflow.exports.model import ExportGraph, build_graph
from graphflow.exports.selection import FindingSelection, Selection, resolve_finding, with_sets
from graphflow.exports.style import DEFAULT_RULES, style_graph
from graphflow.rules import RuleSet
from graphflow.workspace import Workspace

__all__ = [
    "DEFAULT_RULES",
    "FORMATS",
    "SUFFIXES",
    "DotLayout",
    "ExportGraph",
    "FindingSelection",
    "Selection",
    "WriteReport",
    "build_graph",
    "export_graph",
    "render_dot",
    "resolve_finding",
    "style_graph",
    "with_sets",
    "write_csv",
    "write_cytoscape",
    "write_dot",
    "write_gdf",
    "write_gexf",
    "write_graphml",
]

Writer = Callable[..., WriteReport]

#: format name -> writer
FORMATS: dict[str, Writer] = {
    "gdf": write_gdf,
    "gexf": write_gexf,
    "dot": write_dot,
    "graphml": write_graphml,
    "cytoscape": write_cytoscape,
    "csv": write_csv,
}
#: usual file name suffix per format (csv writes a directory)
SUFFIXES = {"gdf": ".gdf", "gexf": ".gexf", "dot": ".dot", "graphml": ".graphml",
            "cytoscape": ".json", "csv": ""}


def export_graph(ws: Workspace, fmt: str, out: str | os.PathLike[str] | IO[bytes],
                 selection: Selection | None = None, rules: RuleSet | None = None, *,
                 sets: Mapping[str, Collection[str]] | None = None,
                 findings: Callable[[str], Collection[str]] | None = None,
                 **options: Any) -> WriteReport:
    """Select, style and write: the library call behind ``graphflow export FORMAT``.

    ``sets`` adds named IP sets for ``in_set`` rules; ``findings`` resolves ``in_finding``
    rules (by default through the analyses, when the workspace has them).
    """
    if fmt not in FORMATS:
        raise GraphFlowError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    g = build_graph(ws, selection, spells=fmt == "gexf")
    if findings is None:
        def findings(fid: str) -> Collection[str]:
            return resolve_finding(ws, fid).ips
    g = style_graph(g, rules, sets=sets, findings=findings)
    return FORMATS[fmt](g, out, **options)
