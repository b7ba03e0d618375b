"""``graphflow afterglow``: AfterGlow's options and property files, on small inputs whose
right answer is known from afterglow.pl's logic; property translation and its refusals."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from graphflow.cli import main
from graphflow.exports.properties import translate_properties
from graphflow.rules import (
    Any_,
    Compare,
    Equals,
    Extract,
    FieldValue,
    InNetworks,
    Literal,
    Not,
    Regex,
    RulesError,
    Severity,
    Template,
)
from tests.exports.helpers import assert_renders, parse_dot, parse_gdf

CSV3 = """10.0.0.1,22,192.168.0.1
10.0.0.1,80,192.168.0.2
10.0.0.1,80,192.168.0.3
10.0.0.2,22,192.168.0.1
10.0.0.3,443,192.168.0.1
"""


def run(args, input_text=CSV3, props=None, tmp_path=None):
    argv = ["afterglow", "-a", *args]
    if props is not None:
        p = tmp_path / "p.properties"
        p.write_text(props)
        argv += ["-c", str(p)]
    res = CliRunner().invoke(main, argv, input=input_text)
    assert res.exit_code == 0, res.output
    return res.stdout_bytes.decode() if hasattr(res, "stdout_bytes") else res.output


def dot(args, tmp_path, input_text=CSV3, props=None):
    text = run(args, input_text, props, tmp_path)
    assert_renders(text, tmp_path)
    return parse_dot(text)


def edges(g):
    return sorted((a, b) for a, b, _ in g.edges)


def test_three_node_default(tmp_path, render):
    out = run([], tmp_path=tmp_path)
    (tmp_path / "g.dot").write_text(out)
    render(tmp_path / "g.dot")
    g = parse_dot(out)
    assert g.nodes["22"]["shape"] == "box" and "shape" not in g.nodes["10.0.0.1"]
    assert ("10.0.0.1", "22") in edges(g) and ("22", "192.168.0.1") in edges(g)
    assert len(g.edges) == 8


def test_two_node_auto_and_flag(tmp_path):
    two = "a,b\nb,c\n"
    assert edges(dot([], tmp_path, two)) == [("a", "b"), ("b", "c")]
    assert edges(dot(["-t"], tmp_path)) == [("10.0.0.1", "22"), ("10.0.0.1", "80"),
                                             ("10.0.0.2", "22"), ("10.0.0.3", "443")]


def test_omit_threshold_needs_both_ends(tmp_path):
    # -o 1: a node must be seen at least twice; an edge needs both ends kept
    g = dot(["-o", "1"], tmp_path)
    assert edges(g) == [("10.0.0.1", "22"), ("10.0.0.1", "80"), ("22", "192.168.0.1")]
    # 80 reaches .2 and .3, each seen once as a target: those edges go, 80 stays (its source
    # edge passes); 443 and 10.0.0.2/.3 are seen once
    assert set(g.nodes) == {"10.0.0.1", "22", "80", "192.168.0.1"}


def test_fanout_thresholds(tmp_path):
    assert {a for a, _ in edges(dot(["-f", "1"], tmp_path))} == {"10.0.0.1", "22", "80"}
    g = dot(["-g", "1"], tmp_path)  # events with more than one distinct target: only 80
    assert {b for _, b in edges(g) if b in ("22", "80", "443")} == {"80"}


def test_split_modes(tmp_path):
    assert "10.0.0.1 22" in dot(["-p", "1"], tmp_path).nodes
    assert "22 192.168.0.1" in dot(["-p", "2"], tmp_path).nodes
    g = dot(["-p", "3"], tmp_path)
    assert g.nodes["10.0.0.1 22 192.168.0.1"]["xlabel"] == "22"
    g = dot(["-s", "-t"], tmp_path, "a,b\nb,a\n")
    assert set(g.nodes) == {"S:a", "S:b", "T:a", "T:b"}


def test_labels_counts_and_lines(tmp_path):
    g = dot(["-n"], tmp_path)
    assert {a["xlabel"] for a in g.nodes.values()} == {""}
    g = dot(["-d"], tmp_path)
    assert g.nodes["10.0.0.1"]["xlabel"] == "10.0.0.1 : 3"
    assert len(dot(["-l", "2"], tmp_path).nodes) == 5
    # -b skips lines (a header); -l then counts the lines read after it
    g = dot(["-b", "1", "-l", "1", "-t"], tmp_path, "src,dst\nx,y\nz,w\n")
    assert edges(g) == [("x", "y")]


def test_properties_colours_sizes_shapes(tmp_path):
    props = """# comment
color.source="red" if ($fields[0] eq "10.0.0.1")
color.source="invisible" if ($fields[0]=~/^10\\.0\\.0\\.3$/)
color.source="green"
color.event="#FF000080" if (22 == $fields[1])
color.target="blue" if (subnet($fields[2],"192.168.0.0/31"))
color.edge="gray50"
size.source=$fields[1]
shape.target=diamond
maxnodesize=1
"""
    g = dot([], tmp_path, props=props)
    assert "10.0.0.3" not in g.nodes and "443" not in g.nodes  # invisible drops the lines
    assert g.nodes["10.0.0.1"]["fillcolor"] == "red"
    assert g.nodes["10.0.0.2"]["fillcolor"] == "green"
    assert g.nodes["22"]["fillcolor"] == "#FF000080"
    assert g.nodes["192.168.0.1"]["fillcolor"] == "blue"
    assert g.nodes["192.168.0.2"]["fillcolor"] == "antiquewhite"  # no rule: AfterGlow's
    assert g.nodes["192.168.0.1"]["shape"] == "diamond"
    # sizes: last line's value, scaled to maxnodesize by the largest (80)
    assert g.nodes["10.0.0.1"]["width"] == "1.00" and g.nodes["10.0.0.2"]["width"] == "0.28"
    assert {at["color"] for _, _, at in g.edges} == {"gray50"}


def test_clusters_and_edge_labels(tmp_path):
    props = """cluster.target=regex_replace("^(\\\\d+\\\\.\\\\d+)")."/16"
label.edge=$fields[2]
color="orange"
"""
    data = ("10.0.0.1,192.168.0.1,22\n10.0.0.1,192.168.0.2,80\n10.0.0.1,172.16.0.3,80\n"
            "10.0.0.2,192.168.0.1,22\n")
    g = dot(["-t"], tmp_path, data, props)
    assert set(g.nodes) == {"10.0.0.1", "10.0.0.2", "192.168/16", "172.16/16"}
    assert {(a, b): at["label"] for a, b, at in g.edges}[("10.0.0.1", "192.168/16")] == "22"
    gdf = parse_gdf(run(["-t", "-k"], data, props + "label.duplicate=1\n", tmp_path))
    assert sorted((e["node1"], e["node2"], e["label"]) for e in gdf.edges) == [
        ("10.0.0.1", "172.16/16", "80"), ("10.0.0.1", "192.168/16", "22"),
        ("10.0.0.1", "192.168/16", "80"), ("10.0.0.2", "192.168/16", "22")]
    assert {n["color"] for n in gdf.nodes.values()} == {"255,128,0"}  # AfterGlow's orange


def test_gdf_opens_in_gephi(tmp_path, gephi):
    data = '10.0.0.1,"ev""il,<b>",x\n10.0.0.1,caf\u00e9\\,y\n'
    out = tmp_path / "a.gdf"
    CliRunner().invoke(main, ["afterglow", "-k", "-w", str(out)], input=data)
    doc = gephi(out)[str(out)]
    assert doc["issues"] == []
    assert {n["id"] for n in doc["nodes"]} == {"10.0.0.1", 'ev"il,<b>', "caf\u00e9\\", "x", "y"}


def test_stdin_json_and_refusals(tmp_path):
    out = tmp_path / "o.dot"
    res = CliRunner().invoke(main, ["afterglow", "-w", str(out), "--json"], input=CSV3)
    assert res.exit_code == 0
    doc = json.loads(res.output)
    assert doc["nodes"] == 9 and doc["edges"] == 8 and doc["format"] == "dot"
    assert_renders(out.read_text(), tmp_path)
    res = CliRunner().invoke(main, ["afterglow", "-j"], input=CSV3)
    assert res.exit_code == 1 and "GraphSON" in res.output
    res = CliRunner().invoke(main, ["afterglow", "-i", str(tmp_path / "none.csv")])
    assert res.exit_code == 1 and "cannot read input" in res.output


def test_translation_covers_the_constructs():
    lines = [
        'color.source="red" if ($fields[0] =~ /^10\\./i && $fields[3] ne "x")',
        "color.target=blue unless ($fields[2] >= 1024 || !subnet(field(), \"2001:db8::/32\"))",
        'color.event=get_severity($fields[4], 20)',
        'label.source=0',
        'label.target=$fields[2] . ":" . $fields[3]',
        'cluster.source="net-" . regex_replace("(\\\\d+)\\\\.")',
        'color.sourcetarget="gray" if (match("^192") or any_regex("evil"))',
        'size.edge=3',
        'threshold.source=2',
        'sum.source=1',
        "color.edge=#22222270 # a comment",
        "exit",
        "variable=system('rm -rf /')",
    ]
    rs = translate_properties(lines, "t.properties")
    r = rs.rules
    assert r[0].when.items[0] == Regex(0, r"^10\.", re.IGNORECASE) and \
        r[0].when.items[1] == Equals(3, ("x",), negate=True)
    assert isinstance(r[1].when, Not) and r[1].when.item.items[0] == Compare(2, "ge", 1024.0,
                                                                             "leading")
    assert r[1].when.item.items[1].item.networks[0].version == 6
    assert isinstance(r[1].when.item.items[1].item, InNetworks)
    assert r[2].value == Severity(4, 20)
    assert r[3].value == Literal("")
    assert r[4].value == Template(((2,), ":", (3,)))
    assert r[5].value == Extract(r"(\d+)\.", None, "net-", "")
    assert isinstance(r[6].when, Any_) and r[6].when.items[0] == Regex(None, "^192")
    assert r[7].value == Literal(3.0)
    assert r[8].element == "edge" and r[8].value == Literal("#22222270")
    assert rs.settings.thresholds == {"source": 2} and rs.settings.sum_sizes == {"source"}
    assert FieldValue(None) != r[4].value


@pytest.mark.parametrize(("line", "message"), [
    ("variable=$x = 5", "t.properties:2: cannot translate variable=.*runs Perl code"),
    ("colour.source=red", "t.properties:2: .*unknown property"),
    ("graphson=1", "GraphSON"),
    ('color.source=lc($fields[0])', "function lc"),
    ("size.source=$fields[1] * 2", "unexpected '\\*'|cannot read"),
    ('color.source="$name"', r"uses the Perl variable \$name"),
    ('color.source="x$name" if ($fields[0] eq "a")', "interpolates a Perl variable"),
    ('color.source="red" if ($fields[0] =~ /$re/)', "interpolates"),
    ("shape.source=blob", "unknown shape"),
])
def test_refused_with_the_line(line, message):
    with pytest.raises(RulesError, match=message):
        translate_properties(["# header", line], "t.properties")
