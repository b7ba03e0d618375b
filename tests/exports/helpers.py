"""Small readers for what the tests compare: a DOT subset (the statements AfterGlow and
GraphFlow write) and GDF lines split the way Gephi's importer splits them."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_DOT_TOKEN = re.compile(r'\s+|//[^\n]*|"(?:[^"\\]|\\.)*"|->|--|[\[\]{};,=]|[^\s\[\]{};,="]+',
                        re.S)


def _dot_tokens(text: str) -> list[str]:
    return [t for t in _DOT_TOKEN.findall(text) if t.strip() and not t.startswith("//")]


def _unquote(tok: str) -> str:
    if tok.startswith('"'):
        return tok[1:-1].replace('\\"', '"')
    return tok


@dataclass
class DotGraph:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)


def parse_dot(text: str) -> DotGraph:
    """Nodes (attributes merged, later wins, as Graphviz does) and edges of a DOT file."""
    toks = _dot_tokens(text)
    g = DotGraph()
    i = 0
    stack: list[str | None] = []

    def attrs(j: int) -> tuple[dict[str, str], int]:
        out: dict[str, str] = {}
        if j < len(toks) and toks[j] == "[":
            j += 1
            while toks[j] != "]":
                if toks[j] == ",":
                    j += 1
                    continue
                key = _unquote(toks[j])
                assert toks[j + 1] == "=", toks[j:j + 3]
                out[key] = _unquote(toks[j + 2])
                j += 3
        return out, j + 1 if j < len(toks) and toks[j] == "]" else j

    while i < len(toks):
        t = toks[i]
        if t in ("digraph", "graph", "strict") and not stack:
            while toks[i] != "{":
                i += 1
            stack.append(None)
            i += 1
            continue
        if t == "subgraph":
            name = _unquote(toks[i + 1])
            stack.append(name)
            g.clusters[name] = []
            i += 3
            continue
        if t == "}":
            stack.pop()
            i += 1
            continue
        if t in (";", ","):
            i += 1
            continue
        if t in ("graph", "node", "edge") and i + 1 < len(toks) and toks[i + 1] == "[":
            _, i = attrs(i + 1)
            continue
        if i + 1 < len(toks) and toks[i + 1] == "=":
            i += 3
            continue
        a = _unquote(t)
        if i + 1 < len(toks) and toks[i + 1] == "->":
            b = _unquote(toks[i + 2])
            at, i = attrs(i + 3)
            g.edges.append((a, b, at))
            continue
        at, i = attrs(i + 1)
        g.nodes.setdefault(a, {}).update(at)
        if stack and stack[-1]:
            g.clusters[stack[-1]].append(a)
    return g


_GDF_FIELD = re.compile(
    r'(?:(?<=^")|(?<=,"))(.*?)(?=(?<=[^\\])",|"$)'
    r"|(?:(?<=^')|(?<=,'))(.*?)(?=(?<=[^\\])',|'$)"
    r"|(?:(?<=^)|(?<=,))(?=[^'\"])(.*?)(?=,|$)"
    r"|(?<=,)($)")


def gdf_split(line: str) -> list[str | None]:
    """A GDF data line's fields as Gephi's importer extracts them (trimmed; None if empty)."""
    out: list[str | None] = []
    pos = 0
    while pos <= len(line):
        m = _GDF_FIELD.search(line, pos)
        if m is None:
            break
        data = line[m.start():m.end()].strip()
        out.append(data if data and data.lower() != "null" else None)
        # java.util.regex.Matcher.find(): after an empty match the search moves on by one
        pos = m.end() if m.end() > m.start() else m.end() + 1
    return out


@dataclass
class GdfGraph:
    node_columns: list[str]
    edge_columns: list[str]
    nodes: dict[str, dict[str, str | None]]
    edges: list[dict[str, str | None]]


def parse_gdf(text: str) -> GdfGraph:
    lines = text.split("\n")
    ncols = [c.strip().split(" ")[0].lower() for c in lines[0].split(">", 1)[1].split(",")]
    nodes: dict[str, dict[str, str | None]] = {}
    edges: list[dict[str, str | None]] = []
    ecols: list[str] = []
    section = "node"
    for line in lines[1:]:
        if not line:
            continue
        if line.lower().startswith("edgedef>"):
            ecols = [c.strip().split(" ")[0].lower() for c in line.split(">", 1)[1].split(",")]
            section = "edge"
            continue
        values = gdf_split(line)
        if section == "node":
            row = dict(zip(ncols, values, strict=False))
            nodes[row["name"] or ""] = row
        else:
            edges.append(dict(zip(ecols, values, strict=False)))
    return GdfGraph(ncols, ecols, nodes, edges)


def assert_renders(dot_text: str, where: Path) -> None:
    """Render DOT text with the real Graphviz to SVG and PNG; any error or warning fails."""
    exe = shutil.which("dot")
    assert exe, "Graphviz 'dot' is not installed: run scripts/setup.d/40-exports.sh"
    src = where / f"render-{abs(hash(dot_text))}.dot"
    src.write_text(dot_text, encoding="utf-8")
    for fmt in ("svg", "png"):
        proc = subprocess.run([exe, f"-T{fmt}", str(src), "-o", str(src.with_suffix("." + fmt))],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and not proc.stderr.strip(), \
            f"dot -T{fmt}: exit {proc.returncode}: {proc.stderr}"
