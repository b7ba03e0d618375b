"""The charts in the web UI: the JSON API returns the library's series, refuses bad input
with the API's error shape, and the page draws them with Chart.js in headless Chromium."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from graphflow.plots import country_series, top_series, volume_series
from tests.report.helpers import make_driver
from web import create_app


@pytest.fixture(scope="module")
def client(gen15):  # type: ignore[no-untyped-def]
    ws, _ = gen15
    return create_app(store=ws).test_client()


def _json(x: object) -> object:
    from graphflow.cli import _json_default

    return json.loads(json.dumps(x, default=_json_default))


def test_api_returns_the_library_series(gen15, client) -> None:  # type: ignore[no-untyped-def]
    ws, truth = gen15
    host = "10.10.10.45"
    r = client.get(f"/api/charts/volume?host={host}&ports=web&granularity=day")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["series"] == _json(volume_series(ws, host, ports="web",
                                                         granularity="day"))
    r = client.get(f"/api/charts/volume?host={host}&port=443&from=2026-03-09&to=2026-03-10")
    doc = r.get_json()["series"]
    assert doc == _json(volume_series(ws, host, port=443, start=dt.datetime(
        2026, 3, 9, tzinfo=dt.UTC), end=dt.datetime(2026, 3, 11, tzinfo=dt.UTC)))
    assert len(doc["buckets"]) == 48  # both days, hourly
    r = client.get("/api/charts/top?what=scanners&ranking=active&n=3")
    assert r.get_json()["series"] == _json(top_series(ws, "scanners", n=3, ranking="active"))
    r = client.get("/api/charts/top?n=4&metric=flows&direction=total")
    assert r.get_json()["series"] == _json(top_series(ws, "talkers", n=4, metric="flows",
                                                      direction="total"))
    r = client.get("/api/charts/countries")
    assert r.get_json()["series"] == _json(country_series(ws))
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]


@pytest.mark.parametrize(("url", "param"), [
    ("/api/charts/volume?host=not-an-ip", "host"),
    ("/api/charts/volume?host=10.0.0.1&port=99999", "port"),
    ("/api/charts/volume?host=10.0.0.1&granularity=minute", "granularity"),
    ("/api/charts/volume?host=10.10.10.45&from=2026-03-10&to=2026-03-02", "to"),
    ("/api/charts/top?what=<script>", "what"),
    ("/api/charts/top?n=0", "n"),
])
def test_api_refuses_bad_input(client, url: str, param: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(url)
    assert r.status_code == 400
    body = r.get_json()
    assert body["ok"] is False and [e["param"] for e in body["errors"]] == [param]


def test_api_unknown_host_and_port_group(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/charts/volume?host=192.0.2.77")
    assert r.status_code == 400 and "no flows of 192.0.2.77" in r.get_json()["error"]
    r = client.get("/api/charts/volume?host=10.10.10.45&ports=nope")
    assert r.status_code == 400 and "nope" in r.get_json()["error"]


def test_charts_page_in_chromium(gen15, tmp_path: Path) -> None:
    from tests.web.conftest import start_server, stop_server

    ws, _ = gen15
    d = make_driver(tmp_path / "profile")
    server = start_server(ws.root)
    try:
        d.get(server.url + "/charts?host=10.10.10.45&granularity=day&ports=web")
        deadline = time.monotonic() + 60
        while d.execute_script("return document.body.dataset.state") != "ready":
            assert time.monotonic() < deadline, "page never ready"
            time.sleep(0.2)
        drawn = d.execute_script(
            "return Array.from(document.querySelectorAll('canvas')).map(c => "
            "[c.id, c.dataset.drawn || '', c.dataset.log || '', c.dataset.bars || ''])")
        by = {c[0]: c[1:] for c in drawn}
        assert set(by) == {"volume-flows", "volume-bytes", "volume-packets", "top-chart",
                           "countries-chart"}
        assert all(v[0] == "true" for v in by.values()), by
        doc = volume_series(ws, "10.10.10.45", ports="web", granularity="day")
        for m in ("flows", "bytes", "packets"):
            assert by[f"volume-{m}"][1] == str(doc["log_scale"][m]).lower()
        assert by["top-chart"][2] == "10"
        # the chart holds the series: the week-earlier dataset is there and the values match
        data = d.execute_script(
            "const c = Chart.getChart('volume-bytes');"
            "return c.data.datasets.map(s => [s.label, s.data]);")
        labels = [x[0] for x in data]
        assert labels == ["sent, a week earlier", "sent", "received, a week earlier",
                          "received"]
        log = doc["log_scale"]["bytes"]
        fix = (lambda v: None if v == 0 else v) if log else (lambda v: v)
        assert data[1][1] == [fix(v) for v in doc["current"]["sent_bytes"]]
        assert data[0][1] == [None if v is None else fix(v) for v in doc["week_ago"]["sent_bytes"]]
        status = d.find_element("id", "countries-status").text
        assert "external scanner" in status
        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        assert d.find_element("id", "nav-charts").get_attribute("class") == "active"
    finally:
        d.quit()
        stop_server(server)
