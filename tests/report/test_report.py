"""The security synthesis report against the generator's ground truth: each section lists
exactly the planted positives, the rankings agree with a count over the raw flows, rows link
to their findings, every value is escaped, the page makes no request in Chromium, and the PDF
printed by Chromium has all the sections."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from graphflow.analyses import get_finding
from graphflow.cli import main
from graphflow.report import SECTIONS, build_report, find_chromium, report_data
from tests.report.conftest import SEEDS
from tests.report.helpers import HOSTILE_NAME, country_of, make_driver

SCAN = ("fanout_scanners", "vertical_scans", "syn_only_scans", "low_and_slow", "scanner_got_in")
BASE = "http://127.0.0.1:8050"


class _Sections(HTMLParser):
    """Per section: the IPs by role, the rows' finding ids, the links and the countries."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.ips: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self.rows: dict[str, list[str]] = defaultdict(list)
        self.links: list[str] = []
        self.urls: list[str] = []
        self.row_links: dict[str, list[str]] = defaultdict(list)
        self.current_row: str | None = None
        self.titles: list[str] = []
        self._h2 = False
        self.text: dict[str, list[str]] = defaultdict(list)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action")]
        if tag == "section":
            self.section = a.get("data-section")
        elif tag == "span" and a.get("data-ip") and self.section:
            self.ips[self.section][a.get("data-role") or ""].append(a["data-ip"] or "")
        elif tag == "tr" and self.section:
            self.current_row = a.get("data-finding")
            if self.current_row:
                self.rows[self.section].append(self.current_row)
        elif tag == "a":
            self.links.append(a.get("href") or "")
            if self.current_row:
                self.row_links[self.current_row].append(a.get("href") or "")
        elif tag == "h2":
            self._h2 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None
        elif tag == "tr":
            self.current_row = None
        elif tag == "h2":
            self._h2 = False

    def handle_data(self, data: str) -> None:
        if self._h2:
            self.titles.append(data)
        if self.section:
            self.text[self.section].append(data)


def parse(html: str) -> _Sections:
    p = _Sections()
    p.feed(html)
    return p


def _own(ws: Any) -> set[str]:
    [f] = sorted((ws.version_dir / "hosts").glob("*.parquet"))
    return {r["ip"] for r in pq.read_table(f, columns=["ip", "own"]).to_pylist() if r["own"]}


@pytest.fixture(scope="module")
def reports(generated) -> dict[int, tuple[str, dict[str, Any]]]:
    """HTML (with links) and data per seed; top large enough for every ingress jump."""
    out = {}
    for seed in SEEDS:
        ws, _ = generated[seed]
        data = report_data(ws, top=50)
        out[seed] = (build_report(ws, top=50, base_url=BASE), data)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_sections_list_exactly_the_planted_positives(generated, reports, seed: int) -> None:
    ws, truth = generated[seed]
    html, _ = reports[seed]
    doc = parse(html)
    pos = truth["positives"]
    own = _own(ws)

    def planted(name: str) -> set[str]:
        return {p["entity"] for p in pos if p["analysis"] == name}

    # scanners by country: the external scanning sources, each under its own country
    expected = {p["entity"] for p in pos if p["analysis"] in SCAN} - own
    expected |= {m for p in pos if p["analysis"] == "coordinated_scanners" for m in p["members"]}
    assert set(doc.ips["countries"]["entity"]) == expected
    country_text = " ".join(doc.text["countries"])
    for ip in expected:
        assert country_of(ip) in country_text
    # each planted source listed once, under the right country
    assert len(doc.ips["countries"]["entity"]) == len(expected)
    _, data = reports[seed]
    for row in data["sections"]["countries"]["countries"]:
        assert {country_of(ip) for ip in row["ips"]} == {row["country"]}
    # ingress jumps and their top senders on the peak day
    assert set(doc.ips["ingress"]["entity"]) == planted("ingress_peaks")
    senders = {s["ip"] for p in pos if p["analysis"] == "ingress_peaks"
               for s in p["figures"]["top_senders"]}
    assert set(doc.ips["ingress"]["sender"]) == senders
    # coordinated groups: the planted member sets, one row per group
    groups = sorted(sorted(p["members"]) for p in pos if p["analysis"] == "coordinated_scanners")
    assert sorted(sorted(r["members"]) for r in data["sections"]["coordinated"]) == groups
    assert len(doc.rows["coordinated"]) == len(groups)
    assert sorted(doc.ips["coordinated"]["member"]) == sorted(m for g in groups for m in g)
    assert set(doc.ips["low_and_slow"]["entity"]) == planted("low_and_slow")
    assert set(doc.ips["violations"]["entity"]) == planted("policy_violations")
    assert set(doc.ips["hva"]["entity"]) == planted("hva_neighbourhood")
    assert set(doc.ips["hva"]["peer"]) == {m for p in pos if p["analysis"] == "hva_neighbourhood"
                                           for m in p["members"]}
    # near-misses stay out of the detection sections
    for nm in truth["near_misses"]:
        for sid in ("low_and_slow", "ingress", "hva", "violations"):
            assert nm["entity"] not in doc.ips[sid]["entity"]


def _low_traffic_oracle(ws: Any, max_pkts: int, max_bytes: int) -> list[tuple[str, str, str]]:
    """(day, peer, own host) of tiny exchanges, counted over the raw flows in Python."""
    [hf] = sorted((ws.version_dir / "hosts").glob("*.parquet"))
    hosts = {r["ip"]: r for r in pq.read_table(hf).to_pylist()}
    acc: dict[tuple[Any, ...], list[int]] = {}
    cols = ["ts", "src_ip", "dst_ip", "dst_port", "proto", "src_bytes", "dst_bytes",
            "src_pkts", "dst_pkts"]
    for f in ws.flow_files():
        for r in pq.read_table(f, columns=cols).to_pylist():
            src, dst = hosts.get(r["src_ip"]), hosts.get(r["dst_ip"])
            if not src or not dst or src["own"] or src["whitelisted"] or not dst["own"]:
                continue
            k = (r["ts"].date().isoformat(), r["src_ip"], r["dst_ip"], r["dst_port"], r["proto"])
            v = acc.setdefault(k, [0, 0])
            v[0] += (r["src_pkts"] or 0) + (r["dst_pkts"] or 0)
            v[1] += (r["src_bytes"] or 0) + (r["dst_bytes"] or 0)
    return [(k[0], k[1], k[2]) for k, (pk, by) in acc.items()
            if pk <= max_pkts and by <= max_bytes]


def _top_with_ties(values: dict[str, int], top: int) -> dict[str, int]:
    """The entries whose rank (1 + how many have a higher value) is at most ``top``."""
    return {k: v for k, v in values.items()
            if 1 + sum(1 for w in values.values() if w > v) <= top}


@pytest.mark.parametrize(("max_pkts", "max_bytes", "top"), [(20, 2000, 5), (10, 800, 3)])
def test_rankings_agree_with_a_count_over_the_flows(generated, max_pkts: int, max_bytes: int,
                                                    top: int) -> None:
    ws, truth = generated[SEEDS[0]]
    rows = _low_traffic_oracle(ws, max_pkts, max_bytes)
    widest: dict[str, set[str]] = defaultdict(set)
    active: dict[str, set[tuple[str, str]]] = defaultdict(set)
    scanned: dict[str, set[str]] = defaultdict(set)
    for day, peer, own in rows:
        widest[peer].add(own)
        active[peer].add((own, day))
        scanned[own].add(peer)
    data = report_data(ws, max_pkts=max_pkts, max_bytes=max_bytes, top=top)
    for sid, counts in (("widest", widest), ("active", active), ("scanned", scanned)):
        expected = _top_with_ties({k: len(v) for k, v in counts.items()}, top)
        got = {r["entity"]: r["value"] for r in data["sections"][sid]}
        assert got == expected, sid
    # with every rank shown, every planted external scanner probing own hosts is listed
    full = report_data(ws, max_pkts=max_pkts, max_bytes=max_bytes, top=100_000)
    listed = {r["entity"] for r in full["sections"]["widest"]}
    planted = {p["entity"] for p in truth["positives"] if p["analysis"] in SCAN} | {
        m for p in truth["positives"] if p["analysis"] == "coordinated_scanners"
        for m in p["members"]}
    probing = planted & set(widest)
    assert probing and probing <= listed
    assert listed == set(widest)


def test_rows_link_to_their_findings(generated, reports) -> None:
    ws, _ = generated[SEEDS[0]]
    html, _ = reports[SEEDS[0]]
    doc = parse(html)
    ids = [fid for sid, _ in SECTIONS for fid in doc.rows[sid]]
    assert len(ids) > 20
    for fid in ids:
        assert f"{BASE}/?finding={fid}" in doc.row_links[fid], fid
    for sid in ("ingress", "low_and_slow", "violations", "hva", "widest", "coordinated"):
        assert doc.rows[sid], sid
        fid = doc.rows[sid][0]
        assert get_finding(ws, fid).id == fid  # the web UI resolves the same id
    # every country row's addresses link to a scan finding
    country_links = [h for h in doc.links if "finding=" in h and any(
        a in h for a in ("fanout_", "vertical_", "syn_only_", "low_and_slow-", "coordinated_",
                         "scanner_got_in-"))]
    assert country_links
    # without a base URL: no links but the table of contents
    plain = parse(build_report(ws, top=50))
    assert all(h.startswith("#") for h in plain.links)


def test_values_are_escaped_and_nothing_external(reports) -> None:
    html, _ = reports[SEEDS[0]]
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;" in html
    assert "<script" not in html.lower()
    # no URL to anywhere but the links back to the web UI
    doc = parse(html)
    assert doc.urls
    for u in doc.urls:
        assert u.startswith(("#", "data:image/svg+xml;base64,", BASE + "/?finding=")), u
    assert "url(" not in html and "@import" not in html
    assert HOSTILE_NAME.split(" ")[0] + " src=x" not in html
    # the hostile name is data: the parser sees it as text, never as an element
    assert any("onerror" in t for t in doc.text["countries"])


def _chromium() -> str:
    c = find_chromium()
    if not c:
        pytest.skip("chromium not installed (scripts/setup.d/50-web.sh)")
    return c


def _requests(driver: Any, url: str) -> list[str]:
    driver.get_log("performance")  # drop what came before
    driver.get_log("browser")
    driver.get(url)
    driver.execute_script("return document.readyState")
    out = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            out.append(msg["params"]["request"]["url"])
    return out


def test_renders_in_chromium_without_any_request(reports, tmp_path: Path) -> None:
    html, _ = reports[SEEDS[0]]
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    # a control page that does reach out (to a closed local port): the log must see it
    control = tmp_path / "control.html"
    control.write_text('<!doctype html><img src="http://127.0.0.1:9/probe.png">')
    d = make_driver(tmp_path / "profile", performance=True)
    try:
        seen = _requests(d, control.as_uri())
        assert any(u.startswith("http://127.0.0.1:9/") for u in seen), seen
        seen = _requests(d, page.as_uri())
        assert seen and all(u.startswith(("file:", "data:")) for u in seen), seen
        assert d.execute_script("return document.querySelectorAll('section').length") == 9
        widths = d.execute_script(
            "return Array.from(document.images).map(i => i.complete ? i.naturalWidth : -1)")
        assert widths and all(w > 0 for w in widths), widths
        errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
    finally:
        d.quit()


def test_pdf_has_every_section(generated, tmp_path: Path) -> None:
    _chromium()
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (scripts/setup.d/60-report.sh)")
    ws, _ = generated[SEEDS[0]]
    out, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    res = CliRunner().invoke(main, ["report", "-w", str(ws.root), "-o", str(out),
                                    "--pdf", str(pdf), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["pdf"] == str(pdf) and set(doc["rows"]) == {s for s, _ in SECTIONS}
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    headings = re.findall(r"^\s*(\d+)\. (.+?)\s*$", text, flags=re.M)
    titles = dict(SECTIONS).values()
    found = [(int(n), t) for n, t in headings if t in titles]
    assert found == [(i, t) for i, (_, t) in enumerate(SECTIONS, 1)]


def full_flows(ws: Any) -> int:
    return sum(pq.read_metadata(f).num_rows for f in ws.flow_files())


def test_window_restricts_the_days(generated) -> None:
    ws, truth = generated[SEEDS[0]]
    start = dt.datetime.fromisoformat(truth["start"]).replace(tzinfo=dt.UTC)
    end = start + dt.timedelta(days=3)
    data = report_data(ws, start=start, end=end)
    assert data["window"] == [start.date().isoformat(),
                              (end - dt.timedelta(days=1)).date().isoformat()]
    n = sum(pq.read_metadata(f).num_rows for f in ws.flow_files()
            if start.date() <= dt.date.fromisoformat(f.parent.name[4:]) < end.date())
    assert data["data"]["flows"] == n
    # the planted ingress peak and HVA new peers are judged against the window's days only
    late = report_data(ws, start=start + dt.timedelta(days=7))
    assert late["data"]["flows"] < full_flows(ws)
    full = report_data(ws)
    assert full["data"]["flows"] > n
    # the window's temporary workspace (hard links inside the workspace) is gone
    assert not list((ws.root / ".windows").iterdir())


def test_cli_summary_and_errors(generated, tmp_path: Path) -> None:
    ws, _ = generated[SEEDS[0]]
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "-w", str(ws.root), "-o", str(out), "--top", "3"])
    assert res.exit_code == 0, res.output
    assert "Coordinated groups" in res.stdout and out.read_text().startswith("<!doctype html>")
    bad = CliRunner().invoke(main, ["report", "-w", str(ws.root), "-o", str(out),
                                    "--from", "2026-03-05", "--to", "2026-03-03"])
    assert bad.exit_code == 1 and "empty window" in bad.output
    bad = CliRunner().invoke(main, ["report", "-w", str(ws.root), "-o", str(out),
                                    "--base-url", "javascript:alert(1)//"])
    assert bad.exit_code == 1 and "expected an http" in bad.output


def test_small_workspace_without_hosts_table(tmp_path: Path) -> None:
    """Before any enrichment (no inventory, no countries): every section is there, the ones
    that need an inventory say none found, and progress is reported step by step."""
    from graphflow.ingestion import ingest_files
    from graphflow.workspace import Workspace
    from tests.conftest import FLOWS, zeek_tsv

    log = tmp_path / "conn.log"
    log.write_text(zeek_tsv(FLOWS))
    ws = Workspace.open(tmp_path / "ws")
    ingest_files([log], ws)
    for f in (ws.version_dir / "hosts").glob("*.parquet"):
        f.unlink()
    steps: list[tuple[str, int, int]] = []
    html = build_report(ws, progress=lambda s, d, t: steps.append((s, d, t)))
    doc = parse(html)
    assert [t for t in doc.titles] == [f"{i}. {t}" for i, (_, t) in enumerate(SECTIONS, 1)]
    assert steps[-1] == ("done", 7, 7) and [d for _, d, _ in steps] == list(range(8))
    # 203.0.113.7 probed two own hosts with tiny exchanges: the widest scanner, no country
    assert doc.ips["widest"]["entity"] == ["203.0.113.7"]
    assert doc.ips["violations"]["entity"] == [] and doc.ips["hva"]["entity"] == []
    assert html.count("None found.") >= 4
