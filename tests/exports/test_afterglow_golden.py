"""AfterGlow golden tests: for every case in shared/afterglow/cases.tsv, ``graphflow afterglow``
with the same arguments and property file gives the node set, edge set, edge labels and
colours that AfterGlow 1.6.6 wrote.

One deliberate difference is checked as such: in GDF, AfterGlow gives every target-only node
the colour of the last source node it printed (its ``rgb($sourceColor)`` slip, which also
makes the result depend on Perl's hash order); GraphFlow gives targets their own colour,
the one AfterGlow itself uses in DOT for the same arguments.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphflow.afterglow import AFTERGLOW_RGB
from graphflow.cli import main
from graphflow.exports.colors import to_rgb
from tests.exports.conftest import AFTERGLOW
from tests.exports.helpers import parse_dot, parse_gdf


def _cases() -> list[tuple[str, list[str]]]:
    lines = (AFTERGLOW / "cases.tsv").read_text().splitlines()[1:]
    return [(out, shlex.split(args)) for out, args in (ln.split("\t", 1) for ln in lines if ln)]


CASES = _cases() if (AFTERGLOW / "cases.tsv").exists() else []
#: the DOT case with the same arguments as each GDF case (minus -k): AfterGlow's own colours
DOT_TWIN = {"three-node.gdf": "three-node-default.dot",
            "edge-labels-duplicate.gdf": "edge-labels.dot"}


def _run(args: list[str], out: Path) -> None:
    argv = []
    for a in args:  # paths in cases.tsv are relative to shared/afterglow
        argv.append(str(AFTERGLOW / a) if (AFTERGLOW / a).exists() and "/" in a else a)
    res = CliRunner().invoke(main, ["afterglow", "-a", *argv, "-w", str(out)])
    assert res.exit_code == 0, res.output


def _rgb(color: str | None) -> str | None:
    if color is None:
        return None
    c = AFTERGLOW_RGB.get(color.lower()) or to_rgb(color)
    return f"{c[0]},{c[1]},{c[2]}" if c else None


def test_every_case_is_covered() -> None:
    assert len(CASES) == 14
    assert {out for out, _ in CASES} == {p.name for p in (AFTERGLOW / "outputs").iterdir()}


@pytest.mark.parametrize(("output", "args"), [c for c in CASES if c[0].endswith(".dot")],
                         ids=[c[0] for c in CASES if c[0].endswith(".dot")])
def test_dot_case(output: str, args: list[str], tmp_path: Path, render) -> None:
    ours_path = tmp_path / output
    _run(args, ours_path)
    golden = parse_dot((AFTERGLOW / "outputs" / output).read_text())
    ours = parse_dot(ours_path.read_text())
    assert set(ours.nodes) == set(golden.nodes)
    assert {n: a.get("fillcolor") for n, a in ours.nodes.items()} == \
        {n: a.get("fillcolor") for n, a in golden.nodes.items()}
    assert {(a, b) for a, b, _ in ours.edges} == {(a, b) for a, b, _ in golden.edges}
    assert len(ours.edges) == len({(a, b) for a, b, _ in ours.edges})
    for key in ("label", "color"):
        assert {(a, b): at.get(key) for a, b, at in ours.edges} == \
            {(a, b): at.get(key) for a, b, at in golden.edges}
    # shapes and labels as AfterGlow draws them: events are boxes, labels beside the node
    assert {n: a.get("shape") for n, a in ours.nodes.items()} == \
        {n: a.get("shape") for n, a in golden.nodes.items()}
    assert {n: a.get("xlabel") for n, a in ours.nodes.items()} == \
        {n: a.get("xlabel") for n, a in golden.nodes.items()}
    render(ours_path)


@pytest.mark.parametrize(("output", "args"), [c for c in CASES if c[0].endswith(".gdf")],
                         ids=[c[0] for c in CASES if c[0].endswith(".gdf")])
def test_gdf_case(output: str, args: list[str], tmp_path: Path) -> None:
    ours_path = tmp_path / output
    _run(args, ours_path)
    golden = parse_gdf((AFTERGLOW / "outputs" / output).read_text())
    ours = parse_gdf(ours_path.read_text())
    assert ours.node_columns == golden.node_columns
    assert ours.edge_columns == golden.edge_columns
    assert set(ours.nodes) == set(golden.nodes)

    def edges(g):
        return {(e["node1"], e["node2"], e.get("label"), e["color"]) for e in g.edges}

    assert edges(ours) == edges(golden)
    assert len(ours.edges) == len(edges(ours)), "one edge per distinct label, no repeats"
    twin = parse_dot((AFTERGLOW / "outputs" / DOT_TWIN[output]).read_text())
    expected = {n: _rgb(twin.nodes[n]["fillcolor"]) for n in golden.nodes}
    assert {n: r["color"] for n, r in ours.nodes.items()} == expected
    sources = {a for a, _, _ in twin.edges} - {b for _, b, _ in twin.edges}
    wrong = {n for n, r in golden.nodes.items() if r["color"] != expected[n]}
    assert not wrong & sources, "AfterGlow's GDF slip only touches non-source nodes"
    for n in set(golden.nodes) - wrong:
        assert golden.nodes[n]["color"] == ours.nodes[n]["color"]
    assert {n: r["label"] for n, r in ours.nodes.items()} == \
        {n: r["label"] for n, r in golden.nodes.items()}
