"""Saved investigations and the SQL console in a real headless Chromium (``graphflow serve``).

One round trip: save the current view from the graph page, reload, reopen it from the list,
and the graph shows the same nodes with the same controls. The SQL console shows hostile text
as text.
"""

from __future__ import annotations

import json
import urllib.request

from selenium.webdriver.common.by import By

from tests.web.conftest import Server
from tests.web.data import WebData
from tests.web.test_browser import assert_no_injection, open_page, wait, wait_ready

NODES_JS = "return graphflow.cy.nodes().map((n) => n.id()).sort()"


def _delete(server: Server, slug: str) -> None:
    req = urllib.request.Request(server.url + "api/investigations/" + slug, method="DELETE")
    try:
        urllib.request.urlopen(req, timeout=30).close()
    except urllib.error.HTTPError:
        pass


def _list_ready(d, slug: str | None = None) -> None:  # type: ignore[no-untyped-def]
    wait(d, lambda drv: drv.execute_script(
        "const l = document.getElementById('inv-list'); return l.dataset.state === 'ready' && "
        "(arguments[0] === null || !!l.querySelector('li[data-slug=\"' + arguments[0] + '\"]'))",
        slug))


def test_save_reload_reopen_same_graph(driver, server: Server, web_data: WebData) -> None:  # type: ignore[no-untyped-def]
    slug = "browser-round-trip"
    _delete(server, slug)
    open_page(driver, server, "/", host=web_data.scanner, per="pair", layout="concentric",
              color="degree")
    nodes = driver.execute_script(NODES_JS)
    assert len(nodes) > 1
    _list_ready(driver)
    driver.find_element(By.ID, "inv-name").send_keys("Browser round trip")
    driver.find_element(By.ID, "inv-notes").send_keys("<img src=x onerror=alert(1)>")
    driver.find_element(By.ID, "inv-save").click()
    _list_ready(driver, slug)
    try:
        # somewhere else, then a full reload: the list comes from the workspace
        open_page(driver, server, "/", max_edges="20")
        assert driver.execute_script(NODES_JS) != nodes
        driver.refresh()
        wait_ready(driver)
        _list_ready(driver, slug)
        item = driver.find_element(By.CSS_SELECTOR, f"#inv-list li[data-slug='{slug}']")
        assert item.get_attribute("title") == "<img src=x onerror=alert(1)>"
        item.find_element(By.CSS_SELECTOR, "button.inv-open").click()
        wait(driver, lambda drv: "host=" in drv.current_url)
        wait_ready(driver)
        assert driver.execute_script(NODES_JS) == nodes
        assert driver.find_element(By.ID, "g-layout").get_attribute("value") == "concentric"
        assert driver.find_element(By.ID, "g-color").get_attribute("value") == "degree"
        assert driver.find_element(By.ID, "g-per").get_attribute("value") == "pair"
        assert driver.find_element(By.ID, "f-host").get_attribute("value") == web_data.scanner
        assert_no_injection(driver)
        with urllib.request.urlopen(server.url + "api/investigations/" + slug, timeout=30) as r:
            inv = json.loads(r.read())["investigation"]
        assert inv["filters"]["host"] == [web_data.scanner]
    finally:
        _delete(server, slug)


def test_sql_console_shows_results_as_text(driver, server: Server) -> None:  # type: ignore[no-untyped-def]
    open_page(driver, server, "/sql")
    box = driver.find_element(By.ID, "sql-query")
    box.clear()
    box.send_keys("SELECT '<img src=x onerror=alert(1)>' AS html, count(*) AS flows FROM flows")
    driver.find_element(By.ID, "sql-run").click()
    wait(driver, lambda drv: drv.find_elements(By.CSS_SELECTOR, "#sql-table tbody td"))
    cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#sql-table tbody td")]
    assert cells[0] == "<img src=x onerror=alert(1)>" and int(cells[1].replace(",", "")) > 0
    assert_no_injection(driver)
    box.clear()
    box.send_keys("COPY flows TO '/tmp/gf-browser-escape.csv'")
    driver.find_element(By.ID, "sql-run").click()
    wait(driver, lambda drv: "only SELECT" in drv.find_element(By.ID, "sql-status").text)
