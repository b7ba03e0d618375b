"""The JSON API: every endpoint, its answers checked against the library, bad input (one 4xx
error shape, never a 500 or a traceback) and pagination limits."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import networkx as nx
import pytest

from graphflow.query import FlowFilter, select_edges, select_flows
from graphflow.workspace import Workspace
from tests.web.data import HOSTILE_DNS, HOSTILE_DOMAIN, HOSTILE_SERVICE
from web import CSP, create_app
from web.features import feature_module
from web.selection import Limits

LIMITS = Limits()


def assert_error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type.startswith("application/json")
    body = resp.get_json()
    assert body["ok"] is False and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list)
    assert "Traceback" not in resp.get_data(as_text=True)
    return body


BAD_REQUESTS = [
    ("/api/graph?port=x", 400), ("/api/graph?port=70000", 400), ("/api/graph?from=nope", 400),
    ("/api/graph?from=2026-03-05&to=2026-03-01", 400), ("/api/graph?max_edges=0", 400),
    (f"/api/graph?max_edges={LIMITS.max_edges + 1}", 400), ("/api/graph?hops=9", 400),
    ("/api/graph?collapse=bogus", 400), ("/api/graph?host=10.0.0.999", 400),
    ("/api/graph?set=bogus:thing", 400), ("/api/graph?scope=weird", 400),
    ("/api/graph?per=x", 400), ("/api/graph?fanout=-1", 400), ("/api/graph?min_weight=abc", 400),
    ("/api/graph?expand=notanip", 400), ("/api/graph?prefix=12", 400),
    ("/api/graph?proto=%3Cscript%3E", 400), ("/api/graph?host=" + "1" * 600, 400),
    ("/api/graph?style=pretty", 400),
    ("/api/hosts/notanip", 400), ("/api/hosts/192.0.2.250", 404),
    ("/api/hosts/notanip/findings", 400), ("/api/hosts/10.10.10.10?from=x", 400),
    ("/api/edge", 400), ("/api/edge?src=a&dst=b", 400),
    ("/api/edge?src=10.10.10.10&dst=10.10.10.11&port=1&port=2", 400),
    ("/api/edge?src=192.0.2.250&dst=10.10.10.10", 404),
    ("/api/flows", 400), ("/api/flows?host=10.10.10.10&limit=0", 400),
    (f"/api/flows?host=10.10.10.10&limit={LIMITS.page_max + 1}", 400),
    ("/api/flows?host=10.10.10.10&offset=-1", 400),
    ("/api/flows?host=10.10.10.10&host=10.10.10.11", 400), ("/api/flows?src=x", 400),
    ("/api/search", 400), ("/api/search?q=" + "a" * 300, 400),
    ("/api/search?q=x&limit=100000", 400),
    ("/api/analyses/NoSuch!", 404), ("/api/analyses/no_such_analysis", 404),
    ("/api/findings/%3Cscript%3E", 400), ("/api/findings/x/flows?limit=5000", 400),
    ("/api/export/xyz", 404), ("/api/export/csv?port=x", 400),
    ("/api/export/csv?what=everything", 400), ("/api/hva?new_days=0", 400),
    ("/api/nothing/here", 404),
]


@pytest.mark.parametrize(("url", "status"), BAD_REQUESTS)
def test_bad_input_gets_the_error_shape(client, url: str, status: int) -> None:
    assert_error(client.get(url), status)


def test_methods_and_bodies_get_the_error_shape(client) -> None:
    assert_error(client.get("/api/cypher"), 405)
    assert_error(client.post("/api/cypher", data="query=MATCH (n) RETURN n"), 415)
    assert_error(client.post("/api/cypher", json=[1, 2]), 400)
    assert_error(client.post("/api/cypher", json={"query": ""}), 400)
    assert_error(client.post("/api/cypher", json={"query": "RETURN 1", "limit": 0}), 400)
    assert_error(client.post("/api/cypher", json={"query": "RETURN 1", "params": [1]}), 400)
    assert_error(client.post("/api/cypher", data="x" * 300_000,
                             content_type="application/json"), 413)
    assert_error(client.delete("/api/graph"), 405)


def test_analysis_parameters_are_validated(client) -> None:
    if feature_module("analyses") is None:
        pytest.skip("graphflow.analyses not installed")
    assert_error(client.get("/api/analyses/fanout_scanners?bogus=1"), 400)
    for a in client.get("/api/analyses").get_json()["analyses"]:
        numeric = [p["name"] for p in a["params"] if p["type"] in ("int", "float")]
        if numeric:
            assert_error(client.get(f"/api/analyses/{a['name']}?{numeric[0]}=abc"), 400)
            assert_error(client.get(f"/api/analyses/{a['name']}?limit=0"), 400)
            break


def test_security_headers_on_pages_and_api(client) -> None:
    for url in ("/", "/findings", "/hva", "/console", "/api/info", "/api/graph?port=x",
                "/static/js/common.js"):
        r = client.get(url)
        assert r.headers["Content-Security-Policy"] == CSP, url
        assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
    assert client.get("/api/info").headers["Cache-Control"] == "no-store"


def test_pages_carry_no_data_and_no_inline_script(client, web_data) -> None:
    for url in ("/", "/findings", "/findings/fanout_scanners", "/hva", "/console",
                f"/?host={web_data.scanner}"):
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        assert "<script>" not in html and "onerror" not in html and web_data.scanner not in html
        assert "<script src=" in html
    assert client.get("/findings/%3Cx%3E").status_code == 404


def test_trusted_hosts_defeat_dns_rebinding(web_data) -> None:
    app = create_app(store=Workspace.open(web_data.ws, create=False),
                     settings={"TRUSTED_HOSTS": ["127.0.0.1", "localhost"]})
    c = app.test_client()
    assert c.get("/api/info", headers={"Host": "127.0.0.1:8050"}).status_code == 200
    assert c.get("/api/info", headers={"Host": "evil.example:8050"}).status_code == 400


def test_info(client, web_data) -> None:
    doc = client.get("/api/info").get_json()
    assert doc["ok"] and doc["workspace"]["flows"] == web_data.flows
    assert [d["day"] for d in doc["days"]] == [
        (dt.date(2026, 3, 2) + dt.timedelta(days=i)).isoformat() for i in range(8)]
    assert sum(d["flows"] for d in doc["days"]) == web_data.flows
    assert doc["has_hosts"] and doc["features"]["hosts"]["available"]
    assert set(doc["features"]) >= {"analyses", "exports", "rules", "neo4j", "hosts", "frontend"}
    assert doc["limits"]["page_max"] == LIMITS.page_max


def _edge_key(e: dict) -> tuple:
    return (e["source"], e["target"], e["dst_port"], e["proto"])


def test_graph_of_a_host_matches_select_edges(client, web_data) -> None:
    ws = Workspace.open(web_data.ws, create=False)
    for per in ("port", "pair"):
        doc = client.get(f"/api/graph?host={web_data.scanner}&per={per}").get_json()
        lib = select_edges(ws, FlowFilter(hosts=(web_data.scanner,), limit=None),
                           per_port=per == "port").to_pylist()
        got = {(e["source"], e["target"], e["dst_port"] if per == "port" else None): e["flows"]
               for e in doc["edges"]}
        want = {(r["src_ip"], r["dst_ip"], r.get("dst_port") if per == "port" else None):
                r["flows"] for r in lib}
        assert got == want
        ips = {r["src_ip"] for r in lib} | {r["dst_ip"] for r in lib}
        assert {n["id"] for n in doc["nodes"]} == ips
        assert doc["stats"]["collapsed_by"] is None and not doc["stats"]["truncated"]
    scanner = next(n for n in doc["nodes"] if n["id"] == web_data.scanner)
    assert scanner["dns"] == list(HOSTILE_DNS) and scanner["domain"] == HOSTILE_DOMAIN
    assert doc["query"]["cli"].startswith("graphflow graph --host ")


def test_graph_time_window_and_filters(client, web_data) -> None:
    ws = Workspace.open(web_data.ws, create=False)
    day = "2026-03-08"
    doc = client.get(f"/api/graph?host=10.10.0.0/16&from={day}&to={day}&proto=tcp&port=22,443"
                     "&collapse=none&max_edges=20000").get_json()
    lib = select_edges(ws, FlowFilter(start=dt.datetime(2026, 3, 8, tzinfo=dt.UTC),
                                      end=dt.datetime(2026, 3, 8, 12, tzinfo=dt.UTC),
                                      hosts=("10.10.0.0/16",), ports=(22, 443),
                                      protos=("tcp",), limit=None)).to_pylist()
    assert sum(e["flows"] for e in doc["edges"]) == sum(r["flows"] for r in lib)
    assert all(e["proto"] == "tcp" and e["dst_port"] in (22, 443) for e in doc["edges"])
    weighted = client.get(f"/api/graph?host=10.10.0.0/16&from={day}&to={day}&min_weight=5"
                          "&collapse=none&max_edges=20000").get_json()
    assert weighted["edges"] and all(e["flows"] >= 5 for e in weighted["edges"])


def test_large_selection_opens_collapsed_and_groups_open(client, web_data) -> None:
    ws = Workspace.open(web_data.ws, create=False)
    total = sum(r["flows"] for r in select_edges(ws, FlowFilter(limit=None)).to_pylist())
    doc = client.get("/api/graph?max_edges=20000&prefix=8&collapse=subnet").get_json()
    s = doc["stats"]
    assert s["collapsed_by"] == "subnet" and not s["truncated"]
    groups = [n for n in doc["nodes"] if n["kind"] == "group"]
    assert groups and all(n["id"].startswith("subnet:") for n in groups)
    inside = sum(n.get("internal_flows", 0) for n in groups)
    assert sum(e["flows"] for e in doc["edges"]) + inside == total  # nothing lost
    auto = client.get("/api/graph?max_edges=300").get_json()["stats"]
    assert auto["auto_collapsed"] and auto["edges_shown"] <= 300
    assert auto["selection_edges"] > 300
    small = client.get(f"/api/graph?host={web_data.scanner}").get_json()["stats"]
    assert small["collapsed_by"] is None
    # open one group: its members appear as hosts, the group node disappears
    g = "subnet:10.10.16.0/24"
    opened = client.get(f"/api/graph?collapse=subnet&max_edges=20000&open={g}").get_json()
    ids = {n["id"] for n in opened["nodes"]}
    assert g not in ids and any(i.startswith("10.10.16.") for i in ids)
    closed = client.get(f"/api/graph?host=10.10.16.0/24&collapse=none&close={g}").get_json()
    assert g in {n["id"] for n in closed["nodes"]}
    assert not any(n["id"].startswith("10.10.16.") for n in closed["nodes"])


@pytest.mark.parametrize("kind", ["asn", "domain"])
def test_collapse_by_asn_and_domain(client, kind: str) -> None:
    doc = client.get(f"/api/graph?collapse={kind}&max_edges=20000").get_json()
    assert any(n["id"].startswith(f"{kind}:") for n in doc["nodes"])


def test_expand_is_the_k_hop_neighbourhood(client, web_data) -> None:
    ws = Workspace.open(web_data.ws, create=False)
    ip = "10.10.18.132"
    g = nx.Graph()
    g.add_edges_from((r["src_ip"], r["dst_ip"])
                     for r in select_edges(ws, FlowFilter(limit=None)).to_pylist())
    for hops in (1, 2):
        want = set(nx.single_source_shortest_path_length(g, ip, cutoff=hops))
        doc = client.get(f"/api/graph?host=192.0.2.250&expand={ip}&hops={hops}"
                         "&max_edges=20000&collapse=none").get_json()
        assert {n["id"] for n in doc["nodes"]} == want


def test_fanout_and_omit_thresholds(client, web_data) -> None:
    doc = client.get("/api/graph?host=10.10.0.0/16&fanout=2&collapse=none&max_edges=20000"
                     "&per=pair").get_json()
    out = Counter(e["source"] for e in doc["edges"])
    assert out and max(out.values()) <= 2
    full = client.get("/api/graph?host=10.10.0.0/16&collapse=none&max_edges=20000&per=pair")
    deg: Counter[str] = Counter()
    for e in full.get_json()["edges"]:
        deg[e["source"]] += 1
        deg[e["target"]] += 1
    doc = client.get("/api/graph?host=10.10.0.0/16&omit=3&collapse=none&max_edges=20000"
                     "&per=pair").get_json()
    assert doc["edges"] and len(doc["edges"]) < len(full.get_json()["edges"])
    assert all(deg[e["source"]] >= 3 and deg[e["target"]] >= 3 for e in doc["edges"])


def test_scope_and_named_sets(client) -> None:
    hosts = {h["ip"]: h for h in client.get("/api/graph?collapse=none&max_edges=20000")
             .get_json()["nodes"] if h["kind"] == "host"}
    own = client.get("/api/graph?scope=own&collapse=none&max_edges=20000").get_json()
    assert own["edges"] and all(hosts[e["source"]]["own"] and hosts[e["target"]]["own"]
                                for e in own["edges"])
    cross = client.get("/api/graph?scope=cross&collapse=none&max_edges=20000").get_json()
    assert all(hosts[e["source"]]["own"] != hosts[e["target"]]["own"] for e in cross["edges"])
    hva = client.get("/api/graph?set=hva&collapse=none&max_edges=20000").get_json()
    assert hva["edges"] and all(hosts[e["source"]]["hva"] or hosts[e["target"]]["hva"]
                                for e in hva["edges"])
    diff = client.get("/api/graph?set=own&set=hva&setop=difference&collapse=none"
                      "&max_edges=20000").get_json()
    assert all(not (hosts[e["source"]]["hva"] and hosts[e["target"]]["hva"])
               for e in diff["edges"])
    web = client.get("/api/graph?set=role:web&set=cidr:198.51.100.0/24&setop=intersection"
                     "&collapse=none&max_edges=20000").get_json()
    assert all(hosts[e["source"]].get("role") == "web" or hosts[e["target"]].get("role") == "web"
               for e in web["edges"])


def test_without_hosts_table_features_say_why(small_client) -> None:
    info = small_client.get("/api/info").get_json()
    assert not info["has_hosts"] and "graphflow enrich" in info["features"]["hosts"]["reason"]
    assert_error(small_client.get("/api/graph?scope=own"), 409)
    assert_error(small_client.get("/api/graph?set=hva"), 409)
    assert_error(small_client.get("/api/graph?collapse=asn"), 409)
    assert_error(small_client.get("/api/hva"), 409)
    doc = small_client.get("/api/search?q=example").get_json()
    assert doc["results"] == [] and "hosts table" in doc["note"]
    g = small_client.get("/api/graph?set=cidr:10.10.0.0/16").get_json()
    assert {n["address_class"] for n in g["nodes"]} <= {"private", "public", "special"}
    assert small_client.get("/api/graph").get_json()["stats"]["edges_total"] == 5


def test_host_panel(client, web_data) -> None:
    doc = client.get(f"/api/hosts/{web_data.scanner}").get_json()
    fig = next(p for p in web_data.truth["positives"] if p["entity"] == web_data.scanner
               and p["analysis"] == "fanout_scanners")["figures"]
    assert doc["totals"]["peers_out"] == fig["peers"] and doc["totals"]["peers_in"] == 0
    assert doc["host"]["dns"] == list(HOSTILE_DNS)
    assert len(doc["daily"]) == 8 and doc["daily"][0]["week_before"] is None
    assert doc["daily"][7]["week_before"]["day"] == doc["daily"][0]["day"]
    assert sum(d["flows"] for d in doc["daily"]) == doc["totals"]["flows_out"]
    assert doc["ports_used"][0]["peers"] == fig["peers_on_one_port"]
    windowed = client.get(f"/api/hosts/{web_data.scanner}?from=2026-03-02&to=2026-03-03")
    assert windowed.get_json()["totals"]["flows_out"] == 0


def test_edge_panel_and_flows_pagination(client, web_data) -> None:
    ws = Workspace.open(web_data.ws, create=False)
    lib = select_flows(ws, FlowFilter(hosts=(web_data.scanner,), limit=None)).to_pylist()
    pages, offset = [], 0
    while True:
        doc = client.get(f"/api/flows?host={web_data.scanner}&limit=25&offset={offset}")
        doc = doc.get_json()
        assert doc["total"] == len(lib) and doc["limit"] == 25
        if not doc["flows"]:
            break
        pages += doc["flows"]
        offset += 25
    assert [(f["source_file"], f["source_line"]) for f in pages] == [
        (r["source_file"], r["source_line"]) for r in lib]
    assert all(f["service"] == HOSTILE_SERVICE for f in pages if f["src_ip"] == web_data.scanner)
    f = pages[0]
    edge = client.get(f"/api/edge?src={f['src_ip']}&dst={f['dst_ip']}&port={f['dst_port']}"
                      f"&proto={f['proto']}").get_json()
    flows = client.get(f"/api/flows?src={f['src_ip']}&dst={f['dst_ip']}&port={f['dst_port']}"
                       f"&proto={f['proto']}&limit={LIMITS.page_max}").get_json()
    assert edge["flows"] == flows["total"] == len(flows["flows"])
    assert edge["first_seen"] == flows["flows"][0]["ts"]
    assert client.get(f"/api/flows?host={web_data.scanner}&offset=100000").get_json()[
        "flows"] == []


def test_flow_pages_across_days_follow_the_library_order(client, web_data) -> None:
    ws = Workspace.open(web_data.ws, create=False)
    host = "10.10.10.53"  # the resolver: busy every day
    lib = select_flows(ws, FlowFilter(hosts=(host,), limit=None)).to_pylist()
    first_day = sum(1 for r in lib if r["ts"].date() == lib[0]["ts"].date())
    for offset in (0, first_day - 3, first_day, len(lib) - 2):
        doc = client.get(f"/api/flows?host={host}&limit=7&offset={offset}").get_json()
        assert doc["total"] == len(lib)
        assert [f["flow_key"] for f in doc["flows"]] == [r["flow_key"]
                                                         for r in lib[offset:offset + 7]]
    day = client.get(f"/api/flows?host={host}&from=2026-03-03&to=2026-03-03&limit=5").get_json()
    assert all(f["ts"].startswith("2026-03-03") for f in day["flows"])
    assert day["total"] == sum(1 for r in lib if r["ts"].date().isoformat() == "2026-03-03")


def test_search(client, web_data) -> None:
    doc = client.get(f"/api/search?q={web_data.scanner}").get_json()
    assert doc["kind"] == "ip" and [r["ip"] for r in doc["results"]] == [web_data.scanner]
    assert doc["results"][0]["dns"] == list(HOSTILE_DNS)
    doc = client.get("/api/search?q=10.10.18.0/24&limit=5").get_json()
    assert doc["kind"] == "cidr" and doc["total"] > 5 and len(doc["results"]) == 5
    assert all(r["ip"].startswith("10.10.18.") for r in doc["results"])
    doc = client.get("/api/search", query_string={"q": "onerror"}).get_json()
    assert [r["ip"] for r in doc["results"]] == [web_data.scanner]
    doc = client.get("/api/search", query_string={"q": "*.corp.example"}).get_json()
    assert doc["total"] > 10
    doc = client.get("/api/search?q=192.0.2.250").get_json()
    assert doc["results"] == [] and "does not occur" in doc["note"]
    doc = client.get("/api/search", query_string={"q": "100%_\\"}).get_json()
    assert doc["results"] == []


def test_hva(client, web_data) -> None:
    import json

    assets = json.loads((web_data.data / "assets.json").read_text())
    doc = client.get("/api/hva").get_json()
    assert sorted(h["ip"] for h in doc["hvas"]) == sorted(assets["hvas"])
    assert all(h["peers_in"] + h["peers_out"] >= h["internal_peers"] for h in doc["hvas"])


def _need_analyses() -> None:
    if feature_module("analyses") is None:
        pytest.skip("graphflow.analyses not installed")


def test_analyses_findings_and_drill_down(client, web_data) -> None:
    _need_analyses()
    from graphflow.analyses import finding_flows

    listing = client.get("/api/analyses").get_json()["analyses"]
    assert "fanout_scanners" in {a["name"] for a in listing}
    doc = client.get("/api/analyses/fanout_scanners?limit=1000").get_json()
    finding = next(f for f in doc["findings"] if f["entity"] == web_data.scanner)
    assert doc["query"]["analysis"] == "fanout_scanners"
    one = client.get(f"/api/findings/{finding['id']}").get_json()["finding"]
    assert one["entity"] == web_data.scanner and one["query"]["analysis"] == "fanout_scanners"
    ws = Workspace.open(web_data.ws, create=False)
    flows = finding_flows(ws, finding["id"]).to_pylist()
    page = client.get(f"/api/findings/{finding['id']}/flows?limit=10&offset=5").get_json()
    assert page["total"] == len(flows)
    assert [r["flow_key"] for r in page["flows"]] == [r["flow_key"] for r in flows[5:15]]
    g = client.get(f"/api/graph?finding={finding['id']}").get_json()
    expected = {r["src_ip"] for r in flows} | {r["dst_ip"] for r in flows} | set(
        finding["members"]) | {finding["entity"]}
    assert {n["id"] for n in g["nodes"]} == expected
    assert g["query"]["kind"] == "finding" and g["finding"]["id"] == finding["id"]
    roles = {n["id"]: n["finding_role"] for n in g["nodes"]}
    assert roles[web_data.scanner] == "entity"
    mine = client.get(f"/api/hosts/{web_data.scanner}/findings").get_json()
    assert finding["id"] in {f["id"] for f in mine["findings"]}
    assert_error(client.get("/api/findings/fanout_scanners-0000000000000000"), 404)
    assert_error(client.get("/api/graph?finding=fanout_scanners-0000000000000000"), 404)


def test_analyses_missing_say_why(client) -> None:
    if feature_module("analyses") is not None:
        pytest.skip("graphflow.analyses is installed")
    assert_error(client.get("/api/analyses"), 404)


def test_exports_of_the_view(client, web_data) -> None:
    q = f"host={web_data.scanner}&label=name"
    r = client.get(f"/api/export/csv?{q}")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('.csv"')
    lines = r.get_data(as_text=True).splitlines()
    assert lines[0].startswith("source,target") and len(lines) == 95
    nodes = client.get(f"/api/export/csv?{q}&what=nodes").get_data(as_text=True)
    assert HOSTILE_DNS[0] in nodes and len(nodes.splitlines()) == 96
    js = client.get(f"/api/export/json?{q}").get_json()
    assert len(js["elements"]["nodes"]) == 95
    if feature_module("exports") is None:
        assert_error(client.get(f"/api/export/gdf?{q}"), 404)
        return
    gdf = client.get(f"/api/export/gdf?{q}").get_data(as_text=True)
    assert gdf.startswith("nodedef>") and "edgedef>" in gdf and web_data.scanner in gdf
    for fmt in ("gexf", "graphml"):
        xml = client.get(f"/api/export/{fmt}?{q}").get_data(as_text=True)
        assert "<img" not in xml and "&lt;img src=x onerror=alert(1)&gt;" in xml, fmt
    gexf = client.get(f"/api/export/gexf?{q}").get_data(as_text=True)
    assert 'mode="dynamic"' in gexf and "<spell " in gexf
    dot = client.get(f"/api/export/dot?{q}").get_data(as_text=True)
    assert dot.lstrip().startswith(("digraph", "strict digraph"))


def test_rules_styling(client, web_data) -> None:
    if feature_module("exports") is None or feature_module("rules") is None:
        pytest.skip("graphflow.exports / graphflow.rules not installed")
    doc = client.get("/api/graph?set=hva&collapse=none&style=rules").get_json()
    assert doc["stats"]["styled_by_rules"]
    hva = [n for n in doc["nodes"] if n.get("hva")]
    assert hva and all(n["style"]["color"] == "#ff0000" for n in hva)
