"""Fixtures of the web tests: a generated workspace (with hosts table and hostile names), the
Flask app and client, the real server on a free loopback port, and headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphflow.workspace import Workspace
from tests.conftest import FLOWS, zeek_tsv
from tests.web.data import WebData, build
from web import create_app

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: Flags for a quiet, isolated headless browser (plus a fresh --user-data-dir per driver).
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--window-size=1600,1000")


@pytest.fixture(scope="session")
def web_data(tmp_path_factory: pytest.TempPathFactory) -> WebData:
    """About 30k generated flows over 8 days, hosts table, hostile names planted."""
    return build(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def small_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five hand-checkable flows, without a hosts table (as before any enrichment)."""
    from graphflow.ingestion import ingest_files

    root = tmp_path_factory.mktemp("web-small")
    log = root / "conn.log"
    log.write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(root / "ws")
    ingest_files([log], ws)
    for f in (ws.version_dir / "hosts").glob("*.parquet"):
        f.unlink()
    return ws.root


@pytest.fixture(scope="session")
def app(web_data: WebData):  # type: ignore[no-untyped-def]
    return create_app(store=Workspace.open(web_data.ws, create=False))


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture(scope="session")
def small_client(small_ws: Path):  # type: ignore[no-untyped-def]
    return create_app(store=Workspace.open(small_ws, create=False)).test_client()


class Server:
    def __init__(self, proc: subprocess.Popen[str], url: str, ws: Path) -> None:
        self.proc, self.url, self.ws = proc, url, ws

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()


def start_server(ws: Path, *extra: str) -> Server:
    """``graphflow serve --port 0 --json`` as a subprocess; its first stdout line says where."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphflow", "serve", "--workspace", str(ws), "--port", "0",
         "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        proc.wait(10)
        raise RuntimeError(f"graphflow serve died (exit {proc.returncode}):\n{err}")
    doc = json.loads(line)
    server = Server(proc, doc["url"], ws)
    status, _, _ = server.get("/api/info")  # the socket is bound before the line is printed
    assert status == 200
    return server


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)
    for stream in (server.proc.stdout, server.proc.stderr):
        if stream:
            stream.close()


@pytest.fixture(scope="session")
def server(web_data: WebData) -> Iterator[Server]:
    s = start_server(web_data.ws)
    yield s
    stop_server(s)


@pytest.fixture(scope="session")
def browser_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return tmp_path_factory.mktemp("chromium-profile"), tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(browser_dirs: tuple[Path, Path]):  # type: ignore[no-untyped-def]
    """One headless Chromium for the browser tests (Selenium, Debian's chromedriver)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium / chromium-driver not installed (scripts/setup.d/50-web.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile, downloads = browser_dirs
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "safebrowsing.enabled": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(60)
    d.set_script_timeout(60)
    yield d
    d.quit()


@pytest.fixture(scope="session")
def neo4j_loaded(web_data: WebData, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Neo4j (``NEO4J_URI``, else GraphFlow's launcher) holding the web workspace."""
    if not (shutil.which("java") and shutil.which("mvn")) and not os.environ.get("NEO4J_URI"):
        pytest.skip("no Java/Maven for the Neo4j launcher and no NEO4J_URI")
    try:
        from graphflow.neo4j_server import running_server
        from graphflow.stores.neo4j import Neo4jStore
    except ImportError as exc:
        pytest.skip(f"Neo4j backend not installed: {exc}")
    import contextlib

    with contextlib.ExitStack() as stack:
        uri = os.environ.get("NEO4J_URI") or stack.enter_context(running_server(
            tmp_path_factory.mktemp("web-neo4j"), page_cache="256m", heap="1g"))
        with Neo4jStore.open(uri) as store:
            store.load(Workspace.open(web_data.ws, create=False))
        yield uri
