"""Saved investigations in the library: save, list, get, delete, export/import round trips,
validation with clear errors, the built-in library."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import yaml

from graphflow.investigations import (
    BUILTINS,
    Investigation,
    InvestigationError,
    UnknownInvestigation,
    delete_investigation,
    export_investigations,
    get_investigation,
    import_investigations,
    list_investigations,
    newest_day,
    parse_investigations,
    save_investigation,
    slugify,
    view_url,
)
from graphflow.workspace import Workspace

RULES = {"version": 1, "rules": [{"element": "node", "color": "red",
                                  "when": {"field": "hva", "equals": True}}]}


def _sample(name: str = "SSH brute force") -> Investigation:
    return Investigation(
        name=name, description="SSH and RDP from outside",
        filters={"from": "2026-03-03", "to": "2026-03-05", "port": ["22", "3389"],
                 "proto": ["tcp"], "scope": "cross", "set": ["own"]},
        selection={"per": "pair", "expand": ["10.10.10.80"], "hops": "2", "sel": "host:1.2.3.4"},
        styling={"layout": "concentric", "color": "degree", "rules": RULES},
        notes="line 1\nline 2 — ünïcode")


def _view(inv: Investigation) -> tuple[object, ...]:
    return (inv.name, inv.description, inv.filters, inv.selection, inv.styling, inv.notes,
            inv.window_days, inv.query())


def test_save_get_list_delete(ws: Workspace) -> None:
    saved = save_investigation(ws, _sample())
    assert saved.slug == "ssh-brute-force" and saved.created and saved.updated
    assert (Path(ws.root) / "investigations" / "ssh-brute-force.json").exists()
    got = get_investigation(ws, "SSH brute force")
    assert _view(got) == _view(_sample())
    assert get_investigation(ws, "ssh-brute-force").name == "SSH brute force"
    names = [i.slug for i in list_investigations(ws)]
    assert names[0] == "ssh-brute-force" and names[1:] == [b.slug for b in BUILTINS]
    assert [i.slug for i in list_investigations(ws, builtins=False)] == ["ssh-brute-force"]
    delete_investigation(ws, "ssh-brute-force")
    with pytest.raises(UnknownInvestigation):
        get_investigation(ws, "ssh-brute-force")
    with pytest.raises(UnknownInvestigation):
        delete_investigation(ws, "ssh-brute-force")


def test_update_keeps_created_and_overwrite_guard(ws: Workspace) -> None:
    first = save_investigation(ws, _sample())
    with pytest.raises(InvestigationError, match="exists already"):
        save_investigation(ws, _sample(), overwrite=False)
    changed = _sample()
    changed.notes = "second thoughts"
    second = save_investigation(ws, changed)
    assert second.created == first.created and get_investigation(ws, first.slug).notes == (
        "second thoughts")


def test_query_is_the_graph_url(ws: Workspace) -> None:
    inv = _sample()
    q = inv.query()
    assert q["port"] == ["22", "3389"] and q["layout"] == "concentric" and "rules" not in q
    assert view_url(ws, inv).startswith("/?from=2026-03-03&to=2026-03-05&port=22&port=3389")
    back = Investigation.from_query(inv.name, q)
    assert (back.filters, back.selection) == (inv.filters, inv.selection)


def test_window_days_resolve_against_the_newest_day(ws: Workspace) -> None:
    last = newest_day(ws)
    assert isinstance(last, dt.date)
    inv = get_investigation(ws, "inbound scanners this week")
    assert inv.builtin and inv.window_days == 7
    q = inv.query(last)
    assert q["to"] == last.isoformat()
    assert q["from"] == (last - dt.timedelta(days=6)).isoformat()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_export_delete_import_round_trip(ws: Workspace, fmt: str) -> None:
    a = save_investigation(ws, _sample())
    b = save_investigation(ws, Investigation(name="HVA peers", filters={"set": ["hva"]},
                                             window_days=3))
    text = export_investigations(ws, fmt=fmt)
    doc = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert doc["format"] == "graphflow-investigations" and len(doc["investigations"]) == 2
    for inv in (a, b):
        delete_investigation(ws, inv.slug)
    assert list_investigations(ws, builtins=False) == []
    back = import_investigations(ws, text)
    assert sorted(i.slug for i in back) == ["hva-peers", "ssh-brute-force"]
    for inv in (a, b):
        got = get_investigation(ws, inv.slug)
        assert _view(got) == _view(inv)
        assert (got.created, got.updated) == (inv.created, inv.updated)
    with pytest.raises(InvestigationError, match="already saved: "):
        import_investigations(ws, text)
    assert len(import_investigations(ws, text, overwrite=True)) == 2


def test_export_builtin_by_name(ws: Workspace) -> None:
    text = export_investigations(ws, ["what-talks-to-the-hvas"], fmt="yaml")
    (inv,) = parse_investigations(text)
    assert inv.filters == {"set": ["hva"]}


BAD = {
    "not yaml": ("investigations: [unclosed", "not valid JSON or YAML"),
    "not a document": ("- 1\n- 2\n", "expected an exported investigations document"),
    "wrong format": ('{"format": "other", "investigations": []}',
                     "is not graphflow-investigations"),
    "wrong version": ('{"format": "graphflow-investigations", "version": 9, '
                      '"investigations": []}', "version 9"),
    "empty name": ('{"investigations": [{"name": "  "}]}', "name: must not be empty"),
    "no letters": ('{"investigations": [{"name": "!!!"}]}', "needs at least one letter"),
    "unknown key": ('{"investigations": [{"name": "x", "script": "alert(1)"}]}',
                    "unknown key(s) script"),
    "unknown filter": ('{"investigations": [{"name": "x", "filters": {"sql": "DROP"}}]}',
                       "filters.sql: unknown key"),
    "nested value": ('{"investigations": [{"name": "x", "filters": {"port": [{"a": 1}]}}]}',
                     "filters.port[0]: expected a string or a number"),
    "list for scalar": ('{"investigations": [{"name": "x", "filters": {"scope": ["a"]}}]}',
                        "filters.scope: expected one value"),
    "bad rules": ('{"investigations": [{"name": "x", "styling": {"rules": {"rules": '
                  '[{"element": "blob", "color": "red"}]}}}]}', "element 'blob'"),
    "bad window": ('{"investigations": [{"name": "x", "window_days": 0}]}', "window_days"),
    "bad time": ('{"investigations": [{"name": "x", "created": "yesterday"}]}',
                 "created: 'yesterday' is not an ISO time"),
    "duplicate": ('{"investigations": [{"name": "x"}, {"name": "X"}]}', "appears twice"),
    "control chars": ('{"investigations": [{"name": "a\\u0000b"}]}', "control characters"),
    "python tag": ("!!python/object/apply:os.system ['echo pwned']", "not valid JSON or YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_import_validation(ws: Workspace, case: str) -> None:
    text, message = BAD[case]
    with pytest.raises(InvestigationError) as info:
        import_investigations(ws, text)
    assert message in str(info.value)
    assert list_investigations(ws, builtins=False) == []


def test_names_are_validated_and_slugged(ws: Workspace) -> None:
    assert slugify("What talks to the HVAs?") == "what-talks-to-the-hvas"
    assert slugify("../../etc/passwd") == "etc-passwd"
    with pytest.raises(UnknownInvestigation):
        get_investigation(ws, "-")
    with pytest.raises(InvestigationError, match="longer than 80"):
        save_investigation(ws, Investigation(name="x" * 81))
    save_investigation(ws, Investigation(name="../../x"))
    assert sorted(os.listdir(Path(ws.root) / "investigations")) == ["x.json"]


def test_builtins_cannot_be_deleted_but_can_be_shadowed(ws: Workspace) -> None:
    with pytest.raises(InvestigationError, match="built-in"):
        delete_investigation(ws, "policy-violations")
    mine = save_investigation(ws, Investigation(name="Policy violations", notes="mine"))
    assert get_investigation(ws, "policy-violations").notes == "mine"
    slugs = [i.slug for i in list_investigations(ws)]
    assert slugs.count("policy-violations") == 1 and not get_investigation(
        ws, mine.slug).builtin
