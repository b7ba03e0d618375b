"""Styling rules: the YAML vocabulary, first match wins, every condition kind, the hooks, and
clear refusals (never evaluating user code)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from graphflow.rules import RuleContext, RulesError, evaluate, load_rules, parse_rules

T = pa.table({
    "id": ["10.0.0.1", "192.168.1.5", "2001:db8::7", "203.0.113.9", "not-an-ip"],
    "role": ["web", "db", None, "web", "x"],
    "score": [0, 3, 7, 12, None],
    "port": ["22", "8080", "0x03", "", "443/tcp"],
})


def color(doc, table=T, **ctx):
    rs = parse_rules({"rules": doc} if isinstance(doc, list) else doc)
    return evaluate(rs, "color", table, RuleContext(**ctx), elements=("node",)).to_pylist()


def test_first_match_wins_and_fallthrough():
    assert color([{"color": "red", "when": {"field": "role", "equals": "web"}},
                  {"color": "blue", "when": {"field": "role", "in": ["web", "db"]}},
                  {"color": "gray"}]) == ["red", "blue", "gray", "red", "gray"]
    # no rule matched: null (the writer's default)
    assert color([{"color": "red", "when": {"field": "role", "equals": "db"}}]) == \
        [None, "red", None, None, None]


def test_regex_numeric_cidr():
    assert color([{"color": "red", "when": {"field": "id", "regex": r"^10\."}}]) == \
        ["red", None, None, None, None]
    assert color([{"color": "red", "when": {"field": "role", "not_regex": "^w"}}]) == \
        [None, "red", "red", None, "red"]  # a missing value does not match ^w
    assert color([{"color": "red", "when": {"field": "score", "ge": 7}}]) == \
        [None, None, "red", "red", None]
    # strict: text that is not a number never compares; leading: Perl's numeric value
    assert color([{"color": "red", "when": {"field": "port", "lt": 1024}}]) == \
        ["red", None, None, None, None]
    assert color([{"color": "red", "when": {"field": "port", "lt": 1024,
                                            "numeric": "leading"}}]) == \
        ["red", None, "red", "red", "red"]
    assert color([{"color": "red", "when": {"field": "id", "cidr": ["10.0.0.0/8",
                                                                     "2001:db8::/32"]}}]) == \
        ["red", None, "red", None, None]


def test_combinators_sets_and_findings():
    rules = [{"color": "red", "when": {"all": [{"field": "id", "in_set": "mine"},
                                               {"not": {"field": "role", "equals": "db"}}]}},
             {"color": "blue", "when": {"any": [{"field": "id", "in_finding": "f-1"},
                                                {"field": "id", "in_set": "extra"}]}}]
    got = color({"sets": {"mine": ["10.0.0.0/8", "192.168.0.0/16"]}, "rules": rules},
                sets={"extra": ["not-an-ip"]},
                findings=lambda fid: {"203.0.113.9"} if fid == "f-1" else set())
    assert got == ["red", None, None, "blue", "blue"]
    with pytest.raises(RulesError, match="named set 'nope'"):
        color([{"color": "red", "when": {"field": "id", "in_set": "nope"}}])
    with pytest.raises(RulesError, match="no analysis results"):
        color([{"color": "red", "when": {"field": "id", "in_finding": "f-1"}}])


def test_values_and_severity_scale():
    assert color([{"color": {"field": "role"}}]) == ["web", "db", None, "web", "x"]
    rs = parse_rules({"rules": [{"label": {"template": "{id} ({role})"}},
                                {"cluster": {"extract": r"^(\d+\.\d+)", "suffix": "/16"}}]})
    assert evaluate(rs, "label", T, RuleContext(), elements=("node",)).to_pylist()[0] == \
        "10.0.0.1 (web)"
    assert evaluate(rs, "cluster", T, RuleContext(), elements=("node",)).to_pylist() == \
        ["10.0/16", "192.168/16", None, "203.0/16", None]
    assert color([{"color": {"severity": {"field": "score"}, "steps": 10}}]) == \
        ["#60BB22", "#808217", "#AB380A", "#CC0000", None]


def test_element_masks():
    rs = parse_rules({"rules": [{"element": "source", "color": "red"},
                                {"element": "target", "color": "blue"},
                                {"element": "edge", "color": "black"}]})
    src = pa.chunked_array([[True, False, True, False, False]])
    got = evaluate(rs, "color", T, RuleContext(), elements=("node",),
                   masks={"source": src, "target": pa.chunked_array([[True] * 5])})
    assert got.to_pylist() == ["red", "blue", "red", "blue", "blue"]


@pytest.mark.parametrize(("doc", "message"), [
    ({"rules": [{"color": "red", "when": {"field": "id", "regexp": "x"}}]},
     r"r.yaml: rules\[0\]\.when: unknown operator 'regexp'"),
    ({"rules": [{"color": "red", "when": {"field": "id", "regex": "("}}]},
     "bad regular expression"),
    ({"rules": [{"shape": "blob"}]}, "unknown shape 'blob'"),
    ({"rules": [{"element": "edge", "cluster": "x"}]}, "edges have no cluster"),
    ({"rules": [{"element": "vertex", "color": "red"}]}, "element 'vertex'"),
    ({"rules": [{"color": "red", "when": {"field": "id", "cidr": "10.0.0.0/33"}}]},
     "not an IP network"),
    ({"rules": [{"label": {"template": "{id"}}]}, "braces"),
    ({"colour": []}, "unknown top-level keys"),
])
def test_refusals(doc, message):
    with pytest.raises(RulesError, match=message):
        parse_rules(doc, source="r.yaml")


def test_yaml_is_data_only(tmp_path):
    p = tmp_path / "evil.yaml"
    p.write_text("rules:\n  - color: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(p)
    assert not (tmp_path / "pwned").exists()
    p.write_text("rules:\n  - color: red\n    when: {field: id, equals: x\n")
    with pytest.raises(RulesError, match=r"evil.yaml:\d+: not valid YAML"):
        load_rules(p)
