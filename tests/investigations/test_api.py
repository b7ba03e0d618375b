"""Saved investigations through the Flask test client: save the current view, list, export,
delete, import, reopen gives the same graph; bad input gets the one error shape."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from graphflow.workspace import Workspace


def _graph(client: Any, url: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    assert url.startswith("/?")
    r = client.get("/api/graph" + url[1:])
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    nodes = sorted(n["data"]["id"] if "data" in n else n["id"] for n in doc["nodes"])
    edges = sorted(tuple(sorted((k, str(v)) for k, v in (e.get("data") or e).items()
                                if k in ("source", "target", "dst_port", "proto", "flows")))
                   for e in doc["edges"])
    return nodes, edges


def _busy_host(client: Any) -> str:
    doc = client.get("/api/graph?max_edges=50").get_json()
    ids = [n["data"]["id"] if "data" in n else n["id"] for n in doc["nodes"]]
    return str(next(i for i in ids if "/" not in i))


def test_save_export_delete_import_reopen(client: Any, ws: Workspace) -> None:
    host = _busy_host(client)
    view = "?" + urlencode([("host", host), ("per", "pair"), ("layout", "concentric"),
                            ("color", "degree"), ("focus", host), ("sel", "host:" + host)])
    before = _graph(client, "/" + view)
    assert before[0], "the view shows some nodes"
    r = client.post("/api/investigations", json={"name": "Busy host", "view": view,
                                                 "notes": "look at <b>this</b>"})
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()["investigation"]
    assert saved["slug"] == "busy-host" and saved["filters"] == {"host": [host]}
    assert saved["styling"] == {"layout": "concentric", "color": "degree"}
    listed = client.get("/api/investigations").get_json()["investigations"]
    assert listed[0]["slug"] == "busy-host" and any(i["builtin"] for i in listed)

    exported = client.get("/api/investigations/export?format=yaml")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    text = exported.get_data(as_text=True)
    assert client.delete("/api/investigations/busy-host").get_json()["ok"]
    assert client.get("/api/investigations/busy-host").status_code == 404
    r = client.post("/api/investigations/import", json={"text": text})
    assert r.status_code == 200, r.get_json()
    reopened = client.get("/api/investigations/busy-host").get_json()["investigation"]
    assert reopened["url"] == saved["url"] and reopened["notes"] == "look at <b>this</b>"
    assert _graph(client, reopened["url"]) == before
    for k in ("layout", "color", "focus", "sel"):
        assert f"{k}=" in reopened["url"]
    again = client.post("/api/investigations/import", json={"text": text})
    assert again.status_code == 409 and "already saved" in again.get_json()["error"]


def test_builtin_opens_on_the_workspace(client: Any) -> None:
    inv = client.get("/api/investigations/what-talks-to-the-hvas").get_json()["investigation"]
    assert inv["builtin"] and inv["url"].startswith("/?set=hva")
    nodes, _ = _graph(client, inv["url"])
    assert nodes
    week = client.get("/api/investigations/inbound-scanners-this-week").get_json()[
        "investigation"]
    assert "from=" in week["url"] and "to=" in week["url"]
    assert client.delete("/api/investigations/policy-violations").status_code == 403


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"name": "x", "view": "?port=nope"}, 400, "port 'nope'"),
    ({"name": "x", "view": "?layout=evil"}, 400, "layout"),
    ({"name": "x", "view": "?bogus=1"}, 400, "unknown parameter(s) bogus"),
    ({"name": "", "view": ""}, 400, "name"),
    ({"name": "!!!", "view": ""}, 400, "needs at least one letter"),
    ({"name": "x", "view": 3}, 400, "view"),
    ({"name": "x", "view": "", "rules": {"rules": [{"element": "x", "color": "red"}]}}, 400,
     "element 'x'"),
])
def test_save_validation(client: Any, body: dict[str, Any], status: int, message: str) -> None:
    r = client.post("/api/investigations", json=body)
    doc = r.get_json()
    assert r.status_code == status and doc["ok"] is False and message in doc["error"], doc
    assert client.get("/api/investigations").get_json()["investigations"][0]["builtin"]


def test_writes_need_json(client: Any) -> None:
    r = client.post("/api/investigations", data={"name": "x"})
    assert r.status_code == 415
    r = client.post("/api/investigations/import", data="investigations: []",
                    content_type="text/plain")
    assert r.status_code == 415
    r = client.post("/api/investigations/import", json={"text": "- [unclosed"})
    assert r.status_code == 400 and "not valid JSON or YAML" in r.get_json()["error"]


def test_overwrite_flag(client: Any) -> None:
    body = {"name": "Same", "view": "?per=pair"}
    assert client.post("/api/investigations", json=body).status_code == 200
    r = client.post("/api/investigations", json=body)
    assert r.status_code == 409
    r = client.post("/api/investigations", json={**body, "overwrite": True, "notes": "v2"})
    assert r.status_code == 200 and r.get_json()["investigation"]["notes"] == "v2"


def test_stored_rules_style_the_reopened_view(client: Any) -> None:
    """An investigation's own styling rules (not the server's) colour its view in the
    "styling rules" mode, and a view saved from it keeps a copy of them."""
    rules = {"version": 1, "rules": [
        {"element": "node", "color": "#123456", "when": {"field": "own", "equals": True}},
        {"element": "node", "color": "#abcdef"}]}
    r = client.post("/api/investigations", json={
        "name": "Own in navy", "view": "?max_edges=50&collapse=none&color=rules", "rules": rules})
    assert r.status_code == 200, r.get_json()
    url = r.get_json()["investigation"]["url"]
    assert "inv=own-in-navy" in url and "color=rules" in url

    def colours(query: str) -> dict[str, str]:
        doc = client.get("/api/graph" + query + "&style=rules").get_json()
        assert doc["stats"]["styled_by_rules"] is True
        return {n["id"]: n["style"].get("color") for n in doc["nodes"]}

    styled = colours(url[1:])
    own = client.get("/api/graph?max_edges=50&collapse=none").get_json()["nodes"]
    want = {n["id"]: "#123456" if n.get("own") else "#abcdef" for n in own}
    assert styled == want and {"#123456", "#abcdef"} == set(styled.values())
    assert colours("?max_edges=50&collapse=none") != styled  # the server's (default) rules differ

    copy = client.post("/api/investigations", json={"name": "Copy", "view": url})
    assert copy.status_code == 200, copy.get_json()
    assert copy.get_json()["investigation"]["styling"]["rules"] == rules
    assert client.delete("/api/investigations/own-in-navy").get_json()["ok"]
    assert colours(copy.get_json()["investigation"]["url"][1:]) == want
    gone = client.get("/api/graph" + url[1:] + "&style=rules")
    assert gone.status_code == 404 and gone.get_json()["errors"][0]["param"] == "inv"
