"""The security synthesis report: one self-contained HTML file (and a PDF of it).

The numbers come from the registered analyses (:func:`graphflow.analyses.run_analysis`), with
the report's cut-offs mapped onto their parameters; nothing is detected here:

========================================  ====================================================
section                                   analysis (parameters from the report)
========================================  ====================================================
most active low-profile scanners          ``top_scanners`` ranking=active (max_pkts,
                                          max_bytes, top_n=top)
widest scanners (own systems reached)     ``top_scanners`` ranking=widest
scanners by country                       the scan analyses' sources (:func:`graphflow.plots.
                                          country_series`) with ``hosts.country``
most scanned own systems                  ``top_scanners`` ranking=scanned
top daily ingress jumps                   ``ingress_peaks`` (top_n=top senders), the ``top``
                                          largest jumps
coordinated groups                        ``coordinated_scanners`` (max_pkts, max_bytes); a
                                          group found under several keys (prefix, DNS domain,
                                          ASN) is one row
low-and-slow scanners                     ``low_and_slow`` (max_pkts, max_bytes)
policy violations                         ``policy_violations``
each HVA's new peers                      ``hva_neighbourhood``
========================================  ====================================================

The HTML has inline CSS and its charts as ``data:`` SVG images (matplotlib): no script, no
request to anywhere. Every data value is HTML-escaped. With ``base_url`` every row links to
its finding in the web UI (``<base_url>/?finding=<id>``, the graph view opened on the
finding's flows). ``start``/``end`` restrict the data to whole UTC days
(:mod:`graphflow.window`). :func:`print_pdf` prints the HTML with headless Chromium.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
import shutil
import subprocess
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from graphflow.analyses import Finding, run_analysis
from graphflow.errors import GraphFlowError
from graphflow.query import ip_sort_key, workspace_info
from graphflow.window import day_range, window_workspace
from graphflow.workspace import Workspace

__all__ = ["SECTIONS", "build_report", "check_base_url", "find_chromium", "print_pdf",
           "render_html", "report_data"]

#: (section id, title), in report order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("active", "Most active low-profile scanners"),
    ("widest", "Widest scanners (own systems reached)"),
    ("countries", "Scanners by country"),
    ("scanned", "Most scanned own systems"),
    ("ingress", "Top daily ingress jumps"),
    ("coordinated", "Coordinated groups"),
    ("low_and_slow", "Low-and-slow scanners"),
    ("violations", "Policy violations"),
    ("hva", "New peers of the high-value assets"),
)

#: The charts show at most this many bars (the tables list every row).
CHART_BARS = 25
#: Ingress peaks drawn as daily bar charts (the first ones of the section).
CHART_PEAKS = 5

#: progress(step, done, total)
Progress = Callable[[str, int, int], None]


def _iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _fd(f: Finding) -> dict[str, Any]:
    return {"id": f.id, "analysis": f.analysis, "entity": f.entity, "members": f.members,
            "figures": f.figures}


def _merge_groups(found: list[Finding]) -> list[dict[str, Any]]:
    """One row per distinct member set; the keys it was found under are listed together."""
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for f in found:
        key = tuple(sorted(f.members, key=ip_sort_key))
        row = rows.get(key)
        if row is None:
            rows[key] = {**_fd(f), "keys": [{"group_by": f.figures.get("group_by"),
                                             "key": f.entity, "id": f.id}]}
        else:
            row["keys"].append({"group_by": f.figures.get("group_by"), "key": f.entity,
                                "id": f.id})
    return sorted(rows.values(), key=lambda r: (-r["figures"]["hosts"], r["entity"]))


def report_data(ws: Workspace, *, start: dt.datetime | None = None,
                end: dt.datetime | None = None, max_pkts: int = 20, max_bytes: int = 2000,
                top: int = 5, progress: Progress | None = None) -> dict[str, Any]:
    """Everything the report shows, as plain data (sections keyed by :data:`SECTIONS` ids)."""
    from graphflow.plots import SCAN_ANALYSES, country_series

    if top < 1:
        raise GraphFlowError("--top must be at least 1")
    low = {"max_pkts": max_pkts, "max_bytes": max_bytes}
    steps = ["top_scanners", "countries", "ingress_peaks", "coordinated_scanners",
             "low_and_slow", "policy_violations", "hva_neighbourhood"]
    done = 0

    def step(name: str) -> None:
        nonlocal done
        if progress:
            progress(name, done, len(steps))
        done += 1

    first, last = day_range(start, end)
    with window_workspace(ws, start, end) as sub:
        info = workspace_info(sub).to_dict()
        step("top_scanners")
        ranks = run_analysis(sub, "top_scanners", {**low, "top_n": top, "ranking": "all"})
        sections: dict[str, Any] = {}
        for rid in ("active", "widest", "scanned"):
            label = {"active": "contacts", "widest": "own_hosts", "scanned": "peers"}[rid]
            sections[rid] = [{**_fd(f), "value": f.figures[label]} for f in ranks
                             if f.figures["ranking"] == rid]
        step("countries")
        params = {n: dict(low) for n in SCAN_ANALYSES
                  if n in ("low_and_slow", "coordinated_scanners")}
        sections["countries"] = country_series(sub, params=params)
        step("ingress_peaks")
        peaks = run_analysis(sub, "ingress_peaks", {"top_n": top})

        def jump(f: Finding) -> tuple[int, float, int, tuple[int, int]]:
            r = f.figures.get("ratio")
            return (0 if r is None else 1, -(r or 0.0), -int(f.figures["top"]),
                    ip_sort_key(f.entity))

        sections["ingress"] = [_fd(f) for f in sorted(peaks, key=jump)[:top]]
        step("coordinated_scanners")
        sections["coordinated"] = _merge_groups(run_analysis(sub, "coordinated_scanners", low))
        step("low_and_slow")
        sections["low_and_slow"] = [_fd(f) for f in run_analysis(sub, "low_and_slow", low)]
        step("policy_violations")
        sections["violations"] = [_fd(f) for f in run_analysis(sub, "policy_violations")]
        step("hva_neighbourhood")
        sections["hva"] = [_fd(f) for f in run_analysis(sub, "hva_neighbourhood")]
    if progress:
        progress("done", len(steps), len(steps))
    return {"workspace": str(ws.root), "version": ws.version,
            "window": [first.isoformat() if first else None,
                       last.isoformat() if last else None],
            "data": {k: _iso(info.get(k)) for k in ("flows", "hosts", "edges", "first_seen",
                                                      "last_seen") if k in info},
            "params": {"max_pkts": max_pkts, "max_bytes": max_bytes, "top": top},
            "sections": sections}


# ---- HTML ------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1c1c1c;
margin:2em auto;max-width:1100px;padding:0 1em}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:2px solid #2b5797;
padding-bottom:.15em;margin-top:1.8em;break-after:avoid}
.meta{color:#555}.meta td{padding:0 1em 0 0}
table.data{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.92em}
table.data th,table.data td{border:1px solid #ccd;padding:.25em .5em;text-align:left;
vertical-align:top}table.data th{background:#eef2f8}table.data td.n{text-align:right;
font-variant-numeric:tabular-nums}table.data tr{break-inside:avoid}
.ip{font-family:ui-monospace,Menlo,Consolas,monospace}.none{color:#777;font-style:italic}
.explain{color:#444;margin:.2em 0 .6em}figure{margin:.6em 0;break-inside:avoid}
figure img{max-width:100%}figcaption{color:#555;font-size:.85em}
a{color:#2b5797}section{break-inside:auto}ul.inline{margin:0;padding-left:1.1em}
@media print{body{margin:0;max-width:none}a{color:inherit;text-decoration:none}}
"""

_EXPLAIN = {
    "active": "External peers by the number of (own host, day) contacts with at most "
              "{max_pkts} packets and {max_bytes} bytes (ties included).",
    "widest": "External peers by the number of distinct own hosts they reached with "
              "low-profile exchanges (at most {max_pkts} packets, {max_bytes} bytes).",
    "countries": "External sources named by the scan analyses (fan-out, vertical, SYN-only, "
                 "low-and-slow, coordinated members, scanner got in), by the country of "
                 "their address (?? = unknown).",
    "scanned": "Own hosts by the number of distinct external peers that reached them with "
               "low-profile exchanges.",
    "ingress": "Own hosts whose top day of ingress from external peers dwarfs their "
               "second-highest day, largest jump first, with the top senders on the peak "
               "day.",
    "coordinated": "Groups of low-profile sources (same prefix, DNS domain or ASN) that "
                   "together sweep own hosts, each member below the per-source thresholds.",
    "low_and_slow": "External sources under every per-day threshold that reach many own "
                    "hosts over several days.",
    "violations": "Traffic against the inventory's policies, with non-routable networks, "
                  "or from own hosts outside the declared ranges.",
    "hva": "High-value assets with external peers first seen at the end of the period.",
}


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _n(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return _e(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return _e(v)


def check_base_url(base_url: str | None) -> None:
    """Refuse a base URL that is not http(s) (it goes into every row's link)."""
    if base_url and urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise GraphFlowError(f"--base-url {base_url!r}: expected an http:// or https:// "
                             "address of the web UI")


class _Html:
    def __init__(self, base_url: str | None) -> None:
        check_base_url(base_url)
        self.base = base_url.rstrip("/") if base_url else None

    def link(self, finding_id: str | None, text: str) -> str:
        """``text`` (already escaped) linked to the finding when served."""
        if not self.base or not finding_id:
            return text
        url = f"{self.base}/?{urllib.parse.urlencode({'finding': finding_id})}"
        return f'<a href="{_e(url)}">{text}</a>'

    @staticmethod
    def ip(ip: Any, role: str = "entity") -> str:
        return f'<span class="ip" data-ip="{_e(ip)}" data-role="{_e(role)}">{_e(ip)}</span>'

    def ips(self, ips: list[Any], role: str) -> str:
        return ", ".join(self.ip(i, role) for i in ips)


def _table(head: list[str], rows: list[str]) -> str:
    if not rows:
        return '<p class="none">None found.</p>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="data"><thead><tr>{th}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _tr(cells: list[str], finding: str | None = None) -> str:
    attr = f' data-finding="{_e(finding)}"' if finding else ""
    return f"<tr{attr}>" + "".join(cells) + "</tr>"


def _td(content: str, numeric: bool = False) -> str:
    return f'<td class="n">{content}</td>' if numeric else f"<td>{content}</td>"


def _chart(doc: dict[str, Any], alt: str, caption: str = "") -> str:
    from graphflow.plots import render_bytes

    svg = render_bytes(doc, "svg")
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="{uri}">{cap}</figure>'


def _bars(rows: list[dict[str, Any]], what: str, label: str) -> dict[str, Any]:
    from graphflow.plots import use_log

    bars = [{"label": r["entity"], "value": int(r["value"])} for r in rows[:CHART_BARS]]
    return {"kind": "top", "what": "scanners", "ranking": what, "value_label": label,
            "bars": bars, "log_scale": use_log([b["value"] for b in bars])}


def _ranking(h: _Html, rows: list[dict[str, Any]], rid: str) -> str:
    if rid == "scanned":
        head = ["rank", "own host", "low-profile peers", "example peers"]
    else:
        head = ["rank", "external peer", "contacts" if rid == "active" else "own hosts",
                "example own hosts"]
    out = []
    for r in rows:
        members = r["members"]
        shown = h.ips(members[:8], "member") + (f" … (+{len(members) - 8})"
                                                if len(members) > 8 else "")
        out.append(_tr([_td(_n(r["figures"]["rank"]), True),
                        _td(h.link(r["id"], h.ip(r["entity"]))),
                        _td(_n(r["value"]), True), _td(shown)], r["id"]))
    body = _table(head, out)
    if rows:
        label = {"active": "contacts", "widest": "own hosts reached",
                 "scanned": "low-profile peers"}[rid]
        more = f" (the first {CHART_BARS} of {len(rows)})" if len(rows) > CHART_BARS else ""
        body += _chart(_bars(rows, rid, label), f"bar chart: {label}{more}",
                       f"Chart: the first {CHART_BARS} of {len(rows)} rows." if more else "")
    return body


def _countries(h: _Html, doc: dict[str, Any]) -> str:
    out = []
    for r in doc["countries"]:
        cells = []
        for ip in r["ips"]:
            fid = r["findings"][ip][0] if r["findings"].get(ip) else None
            cells.append(h.link(fid, h.ip(ip)))
        name = r["country"] + (f" ({r['country_name']})" if r.get("country_name") else "")
        out.append(_tr([_td(_e(name)), _td(_n(r["scanners"]), True),
                        _td(", ".join(cells))]))
    body = _table(["country", "scanners", "addresses"], out)
    if doc["countries"]:
        body += _chart(doc, "bar chart: scanners by country")
    return body


def _ingress(h: _Html, rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        f = r["figures"]
        senders = "".join(
            f"<li>{h.ip(s['ip'], 'sender')}: {_n(s['bytes'])} B"
            + (f" · {_e(s.get('country'))}" if s.get("country") else "")
            + (f" · AS{_e(s.get('asn'))} {_e(s.get('as_org') or '')}" if s.get("asn") else "")
            + "</li>" for s in f.get("top_senders", []))
        jump = f"×{_n(f['ratio'])} (+{_n(f['jump_pct'])} %)" if f.get("ratio") else "first day"
        out.append(_tr([_td(h.link(r["id"], h.ip(r["entity"]))), _td(_e(f["day"])),
                        _td(_n(f["top"]), True), _td(_n(f["second"]), True), _td(jump),
                        _td(f'<ul class="inline">{senders}</ul>')], r["id"]))
    body = _table(["own host", "peak day", "ingress bytes", "second-highest day", "jump",
                   "top senders on the peak day"], out)
    from graphflow.plots import daily_doc

    for r in rows[:CHART_PEAKS]:
        f = r["figures"]
        doc = daily_doc(f"daily ingress of {r['entity']} from external peers (peak "
                        f"{f['day']} in red)", f.get("ingress_per_day") or {}, "bytes",
                        highlight=f["day"])
        if doc["labels"]:
            body += _chart(doc, f"bar chart: daily ingress of {r['entity']}")
    return body


def _coordinated(h: _Html, rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        f = r["figures"]
        keys = ", ".join(h.link(k["id"], f"{_e(k['group_by'])}: {_e(k['key'])}")
                         for k in r["keys"])
        out.append(_tr([_td(keys), _td(_n(len(r["members"])), True),
                        _td(_n(f.get("hosts")), True), _td(_n(f.get("overlap_hosts")), True),
                        _td(h.ips(r["members"], "member")),
                        _td(f"{_e(f.get('first_seen'))} – {_e(f.get('last_seen'))}")],
                       r["id"]))
    return _table(["group", "members", "own hosts", "reached by several", "member addresses",
                   "span"], out)


def _low_and_slow(h: _Html, rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        f = r["figures"]
        out.append(_tr([_td(h.link(r["id"], h.ip(r["entity"]))),
                        _td(_n(f.get("own_hosts")), True), _td(_n(f.get("days_active")), True),
                        _td(_n(f.get("max_hosts_per_day")), True),
                        _td(f"{_e(f.get('first_seen'))} – {_e(f.get('last_seen'))}")],
                       r["id"]))
    return _table(["external source", "own hosts", "days active", "most hosts in a day",
                   "span"], out)


def _violations(h: _Html, rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        f = r["figures"]
        peers = f.get("peers") or r["members"]
        out.append(_tr([_td(h.link(r["id"], h.ip(r["entity"]))), _td(_e(f.get("kind"))),
                        _td(_e(f.get("rule"))), _td(_n(f.get("flows")), True),
                        _td(_e(", ".join(str(p) for p in f.get("ports") or []))),
                        _td(h.ips(peers[:10], "peer")
                            + (f" … (+{len(peers) - 10})" if len(peers) > 10 else ""))],
                       r["id"]))
    return _table(["own host", "kind", "rule", "flows", "ports", "peers"], out)


def _hva(h: _Html, rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        f = r["figures"]
        out.append(_tr([_td(h.link(r["id"], h.ip(r["entity"]))),
                        _td(_n(f.get("new_peers")), True), _td(h.ips(r["members"], "peer")),
                        _td(_n(f.get("external_peers")), True), _td(_e(f.get("first_new")))],
                       r["id"]))
    return _table(["high-value asset", "new external peers", "new peers",
                   "external peers in all", "first new contact"], out)


def render_html(data: dict[str, Any], *, base_url: str | None = None) -> str:
    """The report document of :func:`report_data`'s ``data``."""
    h = _Html(base_url)
    p = data["params"]
    s = data["sections"]
    bodies = {
        "active": _ranking(h, s["active"], "active"),
        "widest": _ranking(h, s["widest"], "widest"),
        "countries": _countries(h, s["countries"]),
        "scanned": _ranking(h, s["scanned"], "scanned"),
        "ingress": _ingress(h, s["ingress"]),
        "coordinated": _coordinated(h, s["coordinated"]),
        "low_and_slow": _low_and_slow(h, s["low_and_slow"]),
        "violations": _violations(h, s["violations"]),
        "hva": _hva(h, s["hva"]),
    }
    win = data["window"]
    d = data["data"]
    meta_rows = [
        ("workspace", f"{data['workspace']} (version {data['version']})"),
        ("data", f"{d.get('flows', 0):,} flows, {d.get('first_seen')} – {d.get('last_seen')}"),
        ("window", f"{win[0] or 'start'} – {win[1] or 'end'} (whole UTC days)"
         if any(win) else "all data"),
        ("low-profile", f"at most {p['max_pkts']} packets and {p['max_bytes']} bytes"),
        ("top", f"{p['top']} (ties included)"),
    ]
    meta = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in meta_rows)
    parts = []
    for i, (sid, title) in enumerate(SECTIONS, 1):
        explain = _EXPLAIN[sid].format(**p)
        parts.append(f'<section id="{sid}" data-section="{sid}"><h2>{i}. {_e(title)}</h2>'
                     f'<p class="explain">{_e(explain)}</p>{bodies[sid]}</section>')
    toc = "".join(f'<li><a href="#{sid}">{_e(t)}</a></li>' for sid, t in SECTIONS)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">"
        "<title>GraphFlow security synthesis</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>Security synthesis</h1>"
        f'<table class="meta">{meta}</table><nav><ul>{toc}</ul></nav>'
        + "".join(parts) + "</body></html>\n")


def build_report(ws: Workspace, *, start: dt.datetime | None = None,
                 end: dt.datetime | None = None, max_pkts: int = 20, max_bytes: int = 2000,
                 top: int = 5, base_url: str | None = None,
                 progress: Progress | None = None) -> str:
    """The report over ``ws`` (or its ``[start, end)`` days) as one self-contained HTML page."""
    data = report_data(ws, start=start, end=end, max_pkts=max_pkts, max_bytes=max_bytes,
                       top=top, progress=progress)
    return render_html(data, base_url=base_url)


# ---- PDF ---------------------------------------------------------------------------------
def find_chromium() -> str | None:
    """The headless browser used for the PDF (env GRAPHFLOW_CHROMIUM, else on the PATH)."""
    env = os.environ.get("GRAPHFLOW_CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html_file: Path, pdf: Path, *, timeout: float = 120.0) -> Path:
    """Print ``html_file`` to ``pdf`` with headless Chromium (fresh profile, no network)."""
    chromium = find_chromium()
    if chromium is None:
        raise GraphFlowError("no chromium found for --pdf (install it: scripts/setup.d/"
                             "50-web.sh, or set GRAPHFLOW_CHROMIUM)")
    pdf = Path(pdf).resolve()
    with tempfile.TemporaryDirectory(prefix="graphflow-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--no-pdf-header-footer", "--print-to-pdf-no-header",
               f"--user-data-dir={profile}",
               f"--print-to-pdf={pdf}", Path(html_file).resolve().as_uri()]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                 check=False)
        except subprocess.TimeoutExpired:
            raise GraphFlowError(f"chromium did not finish printing in {timeout:.0f} s") from None
    if res.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        raise GraphFlowError(f"chromium could not print the PDF (exit {res.returncode}): "
                             + (res.stderr.strip().splitlines() or [""])[-1])
    return pdf
