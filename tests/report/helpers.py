"""A generated 15-day workspace with ground truth, and countries written into its hosts table
(the generator's addresses are not in any GeoIP test database): each external address gets a
country from its number, and a country name with markup in it, to check the escaping."""

from __future__ import annotations

import ipaddress
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from graphflow.workspace import Workspace
from tests.analyses.helpers import generated_workspace

COUNTRIES = ("DE", "FR", "US", "CN", "BR")
HOSTILE_NAME = '<img src=x onerror=alert(1)> & "{code}"'


def country_of(ip: str) -> str:
    return COUNTRIES[int(ipaddress.ip_address(ip)) % len(COUNTRIES)]


def set_countries(ws: Workspace) -> None:
    [old] = sorted((ws.version_dir / "hosts").glob("*.parquet"))
    table = pq.read_table(old)
    rows = table.to_pylist()
    for r in rows:
        if not r["own"]:
            r["country"] = country_of(r["ip"])
            r["country_name"] = HOSTILE_NAME.format(code=r["country"])
    tmp = Path(tempfile.mkdtemp(dir=ws.root)) / "hosts.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), tmp)
    ws.commit(add={"hosts": [(tmp, old.name)]}, drop={"hosts": {old.name}}, ledger=ws.ledger())
    tmp.parent.rmdir()


def generated_with_countries(root: Path, seed: int, days: int = 15
                             ) -> tuple[Workspace, dict[str, Any]]:
    ws, truth = generated_workspace(root, seed, days=days)
    set_countries(ws)
    return ws, truth


def make_driver(profile: Path, *, performance: bool = False) -> Any:
    """A headless Chromium under Selenium (Debian's chromedriver), or skip when missing."""
    import shutil

    import pytest

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (Path(chromium).exists() and Path(chromedriver).exists()):
        pytest.skip("chromium / chromium-driver not installed (scripts/setup.d/50-web.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--window-size=1400,1000"):
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    logs = {"browser": "ALL"}
    if performance:
        logs["performance"] = "ALL"
    opts.set_capability("goog:loggingPrefs", logs)
    d = webdriver.Chrome(service=Service(chromedriver), options=opts)
    d.set_page_load_timeout(60)
    d.set_script_timeout(60)
    return d
