"""The UI in a real headless Chromium against the real server (``graphflow serve``).

Explicit waits only: every page sets ``body[data-state]`` to ``ready`` when its data is drawn
(the graph page also counts renders in ``body[data-render]``), panels set their own
``data-state``. Screenshots of the main views go to docs/screenshots/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from graphflow.workspace import Workspace
from tests.web.conftest import ROOT, SCREENSHOTS, Server, start_server, stop_server
from tests.web.data import (
    HOSTILE_DNS,
    HOSTILE_DOMAIN,
    HOSTILE_FILE,
    HOSTILE_SERVICE,
    WebData,
    build,
)
from web import CSP
from web.features import feature_module

TIMEOUT = 90


def wait(d, cond, timeout: float = TIMEOUT):  # type: ignore[no-untyped-def]
    return WebDriverWait(d, timeout, poll_frequency=0.1).until(cond)


def renders(d) -> int:  # type: ignore[no-untyped-def]
    return int(d.execute_script("return Number(document.body.dataset.render || 0)"))


def wait_ready(d, after: int | None = None) -> None:  # type: ignore[no-untyped-def]
    """The page has drawn its data (and, on the graph page, rendered again after ``after``)."""
    def ok(drv) -> bool:  # type: ignore[no-untyped-def]
        state = drv.execute_script("return document.body.dataset.state")
        if state == "error":
            raise AssertionError("page error: " + drv.find_element(By.ID, "error-banner").text)
        return state == "ready" and (after is None or renders(drv) > after)
    wait(d, ok)


def open_page(d, server: Server, path: str = "/", **query: str) -> None:  # type: ignore[no-untyped-def]
    d.get(server.url + path.lstrip("/") + (("?" + urlencode(query)) if query else ""))
    wait_ready(d)


def wait_panel(d, kind: str) -> None:  # type: ignore[no-untyped-def]
    wait(d, lambda drv: drv.execute_script(
        "const p = document.getElementById('panel'); return p.dataset.kind === arguments[0] "
        "&& p.dataset.state === 'ready'", kind))


def query_of(d) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return parse_qs(urlparse(d.current_url).query)


def n_nodes(d) -> int:  # type: ignore[no-untyped-def]
    return int(d.execute_script("return graphflow.cy.nodes().length"))


def shot(d, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(SCREENSHOTS / name))


def assert_no_injection(d) -> None:  # type: ignore[no-untyped-def]
    try:
        alert = d.switch_to.alert
    except NoAlertPresentException:
        alert = None
    assert alert is None, f"an alert opened: {alert.text if alert else ''}"
    injected = d.execute_script(
        "return document.querySelectorAll('[onerror], img[src=\"x\"], script:not([src])')"
        ".length")
    assert injected == 0


def severe_logs(d) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["message"] for e in d.get_log("browser")
            if e["level"] == "SEVERE" and "favicon" not in e["message"]]


def hover(d, node_id: str) -> None:  # type: ignore[no-untyped-def]
    """Move the real mouse over a node of the graph."""
    pos = d.execute_script(
        "const p = graphflow.cy.getElementById(arguments[0]).renderedPosition();"
        "return [p.x, p.y];", node_id)
    box = d.find_element(By.ID, "cy")
    size = box.size
    ActionChains(d).move_to_element_with_offset(
        box, int(pos[0] - size["width"] / 2), int(pos[1] - size["height"] / 2)).perform()


def search(d, text: str) -> None:  # type: ignore[no-untyped-def]
    box = d.find_element(By.ID, "search-input")
    box.clear()
    box.send_keys(text, Keys.ENTER)
    wait(d, lambda drv: drv.execute_script(
        "return document.getElementById('search-results').dataset.state === 'ready'"))


def finding_node_count(ws: Path, finding: dict) -> int:
    """What the library gives for a finding: its entity and members and the hosts of the
    flows behind it."""
    from graphflow.analyses import finding_flows

    flows = finding_flows(Workspace.open(ws, create=False), finding["id"]).to_pylist()
    ips = {r["src_ip"] for r in flows} | {r["dst_ip"] for r in flows} | set(finding["members"])
    if ":" in finding["entity"] or "/" not in finding["entity"]:
        ips.add(finding["entity"])
    return len(ips)


def test_csp_header_and_a_clean_console(driver, server: Server) -> None:
    for path in ("/", "/api/info", "/findings"):
        status, headers, _ = server.get(path)
        assert status == 200 and headers["Content-Security-Policy"] == CSP
    driver.get_log("browser")
    open_page(driver, server)
    assert driver.execute_script("return graphflow.cy.nodes().length") > 0
    shot(driver, "graph-overview.png")
    assert severe_logs(driver) == []


def scanner_scenario(d, server: Server, data: WebData, *, screenshots: bool) -> None:  # type: ignore[no-untyped-def]
    """Search the planted scanner, open its finding, check the subgraph, back and forward."""
    open_page(d, server)
    search(d, data.scanner)
    before = renders(d)
    d.find_element(By.CSS_SELECTOR, f"#search-list li[data-ip='{data.scanner}']").click()
    wait_ready(d, before)
    wait_panel(d, "host")
    assert query_of(d)["host"] == [data.scanner]
    assert d.execute_script("return graphflow.cy.getElementById(arguments[0]).selected()",
                            data.scanner)
    wait(d, lambda drv: drv.execute_script(
        "return document.getElementById('host-findings').dataset.state === 'ready'"))
    if screenshots:
        shot(d, "host-panel.png")
    links = d.find_elements(By.CSS_SELECTOR, "#host-findings a.finding-link")
    link = next(a for a in links if a.text == "fanout_scanners")
    finding_id = link.get_attribute("data-finding")
    host_nodes = n_nodes(d)
    before = renders(d)
    link.click()
    wait_ready(d, before)
    assert query_of(d)["finding"] == [finding_id]
    finding = d.execute_script("return graphflow.doc.finding")
    want = finding_node_count(data.ws, finding)
    assert n_nodes(d) == want
    assert d.find_element(By.ID, "status").get_attribute("data-nodes") == str(want)
    assert d.execute_script("return document.getElementById('panel').dataset.kind") == "finding"
    if screenshots:
        shot(d, "finding-subgraph.png")
    before = renders(d)
    d.back()
    wait_ready(d, before)
    assert "finding" not in query_of(d) and n_nodes(d) == host_nodes
    before = renders(d)
    d.forward()
    wait_ready(d, before)
    assert query_of(d)["finding"] == [finding_id] and n_nodes(d) == want


def test_search_a_scanner_open_its_finding_back_and_forward(driver, server: Server,
                                                           web_data: WebData) -> None:
    if feature_module("analyses") is None:
        pytest.skip("graphflow.analyses not installed")
    scanner_scenario(driver, server, web_data, screenshots=True)


def test_expand_and_collapse_keep_history(driver, server: Server, web_data: WebData) -> None:
    open_page(driver, server, host=web_data.scanner, sel=f"host:{web_data.scanner}")
    wait_panel(driver, "host")
    peer = driver.execute_script(
        "return graphflow.cy.getElementById(arguments[0]).outgoers('node')[0].id()",
        web_data.scanner)
    before = renders(driver)
    driver.execute_script("graphflow.cy.getElementById(arguments[0]).emit('tap')", peer)
    wait_panel(driver, "host")
    assert query_of(driver)["sel"] == [f"host:{peer}"]
    n0 = n_nodes(driver)
    driver.find_element(By.CSS_SELECTOR, "#host-actions button[data-action='expand']").click()
    wait_ready(driver, before)
    assert query_of(driver)["expand"] == [peer] and n_nodes(driver) > n0
    group = driver.execute_script("return graphflow.cy.getElementById(arguments[0]).data('group')",
                                  peer)
    wait_panel(driver, "host")
    before = renders(driver)
    driver.find_element(By.CSS_SELECTOR, "#host-actions button[data-action='collapse']").click()
    wait_ready(driver, before)
    assert driver.execute_script("return graphflow.cy.getElementById(arguments[0]).nonempty()",
                                 group)
    before = renders(driver)
    driver.back()
    wait_ready(driver, before)
    assert query_of(driver)["expand"] == [peer] and "close" not in query_of(driver)


def test_edge_flows_table_matches_graphflow_flows(driver, server: Server,
                                                  web_data: WebData) -> None:
    open_page(driver, server, host=web_data.scanner)
    edge = driver.execute_script(
        "const e = graphflow.cy.edges().sort((a, b) => b.data('flows') - a.data('flows'))[0];"
        "e.emit('tap'); return e.data();")
    wait_panel(driver, "edge")
    wait(driver, lambda drv: drv.find_elements(By.CSS_SELECTOR, "#flows-table tbody tr"))
    rows = driver.execute_script(
        "return Array.from(document.querySelectorAll('#flows-table tbody tr')).map((tr) =>"
        " Object.fromEntries(Array.from(tr.cells).map((td) => [td.dataset.col, td.textContent])))")
    cli = subprocess.run(
        [sys.executable, "-m", "graphflow", "flows", "--workspace", str(web_data.ws), "--host",
         edge["source"], "--port", str(edge["dst_port"]), "--proto", edge["proto"], "--limit",
         "0", "--json"], capture_output=True, text=True, check=True, cwd=ROOT)
    want = [f for f in json.loads(cli.stdout)["flows"] if f["dst_ip"] == edge["target"]]
    assert len(rows) == len(want) == edge["flows"]
    got = [(r["src_ip"], r["src_port"], r["dst_ip"], r["source_file"], r["source_line"])
           for r in rows]
    assert got == [(f["src_ip"], str(f["src_port"]), f["dst_ip"],
                    Path(f["source_file"]).name, str(f["source_line"])) for f in want]
    assert HOSTILE_FILE in {r["source_file"] for r in rows}
    shot(driver, "edge-flows.png")


def test_flows_table_pages(driver, server: Server, web_data: WebData) -> None:
    open_page(driver, server, host=web_data.scanner, sel=f"host:{web_data.scanner}")
    wait_panel(driver, "host")
    driver.find_element(By.ID, "host-flows-btn").click()
    wait(driver, lambda drv: drv.find_element(By.ID, "flows-info").text.startswith("rows 1–25"))
    first = driver.find_element(By.CSS_SELECTOR, "#flows-table tbody tr").text
    driver.find_element(By.ID, "flows-next").click()
    wait(driver, lambda drv: drv.find_element(By.ID, "flows-info").text.startswith("rows 26–50"))
    assert driver.find_element(By.CSS_SELECTOR, "#flows-table tbody tr").text != first
    assert driver.find_element(By.ID, "flows-prev").is_enabled()


def test_export_gdf_and_png(driver, server: Server, web_data: WebData,
                            browser_dirs: tuple[Path, Path]) -> None:
    downloads = browser_dirs[1]
    open_page(driver, server, host=web_data.scanner)
    driver.find_element(By.CSS_SELECTOR, "button[data-export='png']").click()
    png = downloads / "graphflow-view.png"
    wait(driver, lambda _: png.exists() and png.stat().st_size > 1000)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    buttons = driver.find_elements(By.CSS_SELECTOR, "button[data-export='gdf']")
    if feature_module("exports") is None:
        assert not buttons and driver.find_element(By.ID, "exports-hint").text
        pytest.skip("graphflow.exports not installed: GDF hidden and explained")
    buttons[0].click()
    gdf = downloads / "graphflow-view.gdf"
    wait(driver, lambda _: gdf.exists() and gdf.stat().st_size > 0)
    text = gdf.read_text(encoding="utf-8")
    assert text.startswith("nodedef>") and "edgedef>" in text and web_data.scanner in text


def test_hostile_names_show_as_text_everywhere(driver, server: Server,
                                               web_data: WebData) -> None:
    s = web_data.scanner
    open_page(driver, server, host=s, color="domain", label="name", sel=f"host:{s}")
    wait_panel(driver, "host")
    # node label (drawn on the canvas from data, never HTML)
    assert driver.execute_script(
        "return graphflow.cy.getElementById(arguments[0]).data('dlabel')", s) == HOSTILE_DNS[0]
    # tooltip
    hover(driver, s)
    wait(driver, lambda drv: drv.find_element(By.ID, "tooltip").is_displayed())
    tip = driver.find_element(By.ID, "tooltip").get_attribute("textContent")
    assert HOSTILE_DNS[0] in tip and HOSTILE_DNS[1] in tip
    # panel
    name = driver.find_element(By.ID, "panel-name").get_attribute("textContent")
    assert HOSTILE_DNS[0] in name and HOSTILE_DNS[1] in name
    assert HOSTILE_DOMAIN in driver.find_element(By.ID, "panel").get_attribute("textContent")
    # legend (colour by DNS domain lists the domains)
    assert HOSTILE_DOMAIN in driver.find_element(By.ID, "legend").get_attribute("textContent")
    # flows table: the planted service and the hostile file name
    driver.find_element(By.ID, "host-flows-btn").click()
    wait(driver, lambda drv: drv.find_elements(By.CSS_SELECTOR, "#flows-table tbody tr"))
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('#flows-table td')).map(t => t.textContent)")
    assert HOSTILE_SERVICE in cells and HOSTILE_FILE in cells
    # search results
    search(driver, "*onerror*")
    names = driver.find_element(By.ID, "search-list").get_attribute("textContent")
    assert HOSTILE_DNS[0] in names and HOSTILE_DNS[1] in names
    shot(driver, "hostile-names.png")
    text = driver.execute_script("return document.body.innerText")
    assert HOSTILE_DNS[0] in text and HOSTILE_SERVICE in text
    assert_no_injection(driver)


def test_findings_and_hva_pages(driver, server: Server, web_data: WebData) -> None:
    if feature_module("analyses") is not None:
        open_page(driver, server, "/findings")
        cards = driver.find_elements(By.CSS_SELECTOR, "#analyses-list .card")
        listing = json.loads(server.get("/api/analyses")[2])["analyses"]
        assert len(cards) == len(listing) > 0
        open_page(driver, server, "/findings/fanout_scanners")
        rows = driver.find_elements(By.CSS_SELECTOR, "#findings-table > tbody > tr")
        assert web_data.scanner in {r.find_element(By.CSS_SELECTOR, "a.finding-link").text
                                    for r in rows}
        rows[0].find_element(By.CSS_SELECTOR, "button[data-finding]").click()
        wait(driver, lambda drv: drv.find_elements(By.CSS_SELECTOR, "#flows-table tbody tr"))
        shot(driver, "findings.png")
        assert_no_injection(driver)
    open_page(driver, server, "/hva")
    assets = json.loads((web_data.data / "assets.json").read_text())
    assert len(driver.find_elements(By.CSS_SELECTOR, "#hva-table tbody tr")) == len(
        assets["hvas"])
    shot(driver, "hva.png")
    link = driver.find_element(By.CSS_SELECTOR, "#hva-table a.hva-link")
    ip = link.text
    link.click()
    wait_ready(driver)
    wait_panel(driver, "host")
    assert query_of(driver)["host"] == [ip]


def test_cypher_console_hidden_without_neo4j(driver, server: Server) -> None:
    from web.features import features

    if features(True)["neo4j"].available:
        pytest.skip("a Neo4j is configured for this process (see test_console.py)")
    open_page(driver, server, "/console")
    assert driver.find_element(By.ID, "console-missing").text
    assert driver.find_elements(By.CSS_SELECTOR, "nav span.disabled")


@pytest.mark.slow
def test_scanner_scenario_on_200k_flows(driver, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """The acceptance scenario on a workspace of at least 200k flows (about 10 s here)."""
    if feature_module("analyses") is None:
        pytest.skip("graphflow.analyses not installed")
    data = build(tmp_path_factory.mktemp("web-200k"), days=14, flows_per_day=19000)
    assert data.flows >= 200_000
    s = start_server(data.ws)
    try:
        scanner_scenario(driver, s, data, screenshots=False)
    finally:
        stop_server(s)


@pytest.mark.parametrize("layout", ["fcose", "concentric", "dagre", "breadthfirst", "grid"])
def test_every_layout_draws(driver, server: Server, web_data: WebData, layout: str) -> None:
    open_page(driver, server, host=web_data.scanner, layout=layout, focus=web_data.scanner)
    assert n_nodes(driver) == 95
    spread = driver.execute_script(
        "const bb = graphflow.cy.nodes().boundingBox(); return bb.w + bb.h")
    assert spread > 100  # laid out, not piled up


def test_colour_modes_and_their_legends(driver, server: Server, web_data: WebData) -> None:
    modes = ["auto", "finding", "degree", "bytes", "role", "country", "asn", "domain"]
    if feature_module("rules") is not None and feature_module("exports") is not None:
        modes.append("rules")
    open_page(driver, server, host="10.10.10.0/24", per="pair")
    for mode in modes:
        before = renders(driver)
        driver.execute_script("const s = document.getElementById('g-color'); s.value = "
                              "arguments[0]; s.dispatchEvent(new Event('change'));", mode)
        wait(driver, lambda drv, m=mode: query_of(drv).get("color", ["auto"]) == [m])
        wait_ready(driver, before if mode == "rules" else None)
        legend = driver.find_element(By.ID, "legend").text
        assert legend.startswith("Colour"), (mode, legend)
        colours = driver.execute_script(
            "return new Set(graphflow.cy.nodes().map(n => n.data('dcolor'))).size")
        assert colours >= 1
    assert severe_logs(driver) == []
