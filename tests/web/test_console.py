"""The read-only Cypher console against a real Neo4j holding the test workspace: the API
(reads answer, writes are refused with the one error shape) and the page in Chromium."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from graphflow.workspace import Workspace
from tests.web.conftest import start_server, stop_server
from tests.web.data import WebData
from tests.web.test_api import assert_error
from tests.web.test_browser import assert_no_injection, open_page, shot, wait
from web import create_app

WRITES = ["CREATE (n:Host {ip: '192.0.2.1'}) RETURN n", "cReAtE (n) RETURN n",
          "// hello\nMERGE (n:Host {ip: '192.0.2.1'})", "MATCH (h:Host) SET h.x = 1",
          "MATCH (h:Host) DETACH DELETE h", "LOAD CSV FROM 'file:///x' AS r RETURN r"]


@pytest.fixture(scope="module")
def console_client(web_data: WebData, neo4j_loaded: str):  # type: ignore[no-untyped-def]
    app = create_app(store=Workspace.open(web_data.ws, create=False),
                     settings={"GRAPHFLOW_NEO4J": (neo4j_loaded, None, None)})
    return app.test_client()


def test_console_reads(console_client, web_data: WebData) -> None:
    info = console_client.get("/api/info").get_json()
    assert info["features"]["neo4j"]["available"]
    r = console_client.post("/api/cypher", json={
        "query": "MATCH (a:Host {ip: $ip})-[r]->(b:Host) RETURN b.ip AS dst ORDER BY dst",
        "params": {"ip": web_data.scanner}, "limit": 5000})
    doc = r.get_json()
    assert r.status_code == 200, doc
    assert doc["result"]["columns"] == ["dst"] and len(doc["result"]["rows"]) >= 90


@pytest.mark.parametrize("query", WRITES)
def test_console_refuses_writes(console_client, query: str) -> None:
    body = assert_error(console_client.post("/api/cypher", json={"query": query}), 403)
    assert "read-only" in body["error"]


def test_console_page(driver, web_data: WebData, neo4j_loaded: str) -> None:
    server = start_server(web_data.ws, "--neo4j", neo4j_loaded)
    try:
        open_page(driver, server, "/console")
        driver.find_element(By.ID, "cypher-run").click()
        wait(driver, lambda drv: drv.find_elements(By.CSS_SELECTOR, "#cypher-table tbody tr"))
        assert len(driver.find_elements(By.CSS_SELECTOR, "#cypher-table tbody tr")) == 25
        shot(driver, "cypher-console.png")
        box = driver.find_element(By.ID, "cypher-query")
        box.clear()
        box.send_keys("CREATE (n:Host {ip: '<img src=x onerror=alert(9)>'}) RETURN n")
        driver.find_element(By.ID, "cypher-run").click()
        wait(driver, lambda drv: "error-text" in (drv.find_element(By.ID, "cypher-status")
                                                 .get_attribute("class") or ""))
        assert "read-only" in driver.find_element(By.ID, "cypher-status").text
        assert_no_injection(driver)
    finally:
        stop_server(server)
