"""Plots: volume series per host and port (group), top-N bars, scanners by country.

Every series is computed with DuckDB over the workspace (:func:`graphflow.db.connect`) and
returned as plain data (dicts and lists, JSON-ready): the same document feeds the PNG/SVG
files of ``graphflow plot``, the JSON written beside them, the web UI's charts
(:mod:`web.charts`) and the report (:mod:`graphflow.report`).

Rendering uses **matplotlib** with its non-interactive ``Agg`` backend, because it is a
binary wheel on PyPI for every platform (no system libraries, no browser, no display), writes
both PNG and SVG from the same figure, and has first-class logarithmic axes, which the volume
series need: a server's bytes span several decades between quiet hours and a backup. An axis
is logarithmic when its positive values span more than :data:`LOG_DECADES` decades.

Definitions (the host's point of view): *sent* flows are the flows the host originated,
*received* the flows it answered; *sent* bytes/packets are what the host transmitted
(``src_*`` of its sent flows plus ``dst_*`` of its received ones), *received* the rest. A
port filter applies to the service (destination) port of the flow, so ``--port 443`` is the
host's HTTPS service plus the HTTPS it used as a client.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from graphflow.db import connect
from graphflow.errors import GraphFlowError
from graphflow.workspace import Workspace

__all__ = ["LOG_DECADES", "METRICS", "PORT_GROUPS", "SCANNER_RANKINGS", "SCAN_ANALYSES",
           "TOP_KINDS", "country_series", "daily_doc", "figure", "render", "render_bytes",
           "resolve_ports", "top_series", "use_log", "volume_series"]

#: Named port groups for ``--ports``.
PORT_GROUPS: dict[str, list[int]] = {
    "web": [80, 443, 8080],
    "mail": [25, 110, 143, 465, 587, 993, 995],
    "dns": [53],
    "ssh": [22],
    "remote": [22, 23, 3389, 5900],
    "file": [139, 445, 2049],
    "db": [1433, 1521, 3306, 5432, 6379, 27017],
}

#: An axis is logarithmic when max/min of its positive values exceeds 10**LOG_DECADES.
LOG_DECADES = 2.0

METRICS = ("flows", "bytes", "packets")
_WEEK = dt.timedelta(days=7)
_STEP = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}

Progress = Callable[[str], None]


def use_log(values: Sequence[float | int | None]) -> bool:
    """True when the positive values span more than :data:`LOG_DECADES` decades.

    >>> use_log([1, 50, 99]), use_log([0, 1, 1000]), use_log([]), use_log([0, 0])
    (False, True, False, False)
    """
    pos = [float(v) for v in values if v is not None and v > 0]
    return bool(pos) and math.log10(max(pos) / min(pos)) > LOG_DECADES


def resolve_ports(port: int | None = None, ports: str | None = None) -> tuple[str, list[int]]:
    """A label and the port list from ``--port P`` or ``--ports web|80,443|web,22``.

    >>> resolve_ports(443)
    ('443', [443])
    >>> resolve_ports(ports="web")
    ('web', [80, 443, 8080])
    >>> resolve_ports(ports="web,22")
    ('web,22', [22, 80, 443, 8080])
    >>> resolve_ports()
    ('all ports', [])
    """
    if port is not None and ports:
        raise GraphFlowError("give --port or --ports, not both")
    if port is not None:
        if not 0 <= port <= 65535:
            raise GraphFlowError(f"port {port}: expected 0-65535")
        return str(port), [port]
    if not ports:
        return "all ports", []
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in ports.split(","))):
        if part in PORT_GROUPS:
            out.update(PORT_GROUPS[part])
            continue
        try:
            p = int(part)
        except ValueError:
            raise GraphFlowError(f"--ports {part!r}: expected a port number or one of "
                                 f"{', '.join(PORT_GROUPS)}") from None
        if not 0 <= p <= 65535:
            raise GraphFlowError(f"port {p}: expected 0-65535")
        out.add(p)
    return ports, sorted(out)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _floor(t: dt.datetime, granularity: str) -> dt.datetime:
    t = _utc(t)
    if granularity == "day":
        return t.replace(hour=0, minute=0, second=0, microsecond=0)
    return t.replace(minute=0, second=0, microsecond=0)


def _ceil(t: dt.datetime, granularity: str) -> dt.datetime:
    f = _floor(t, granularity)
    return f if f == _utc(t) else f + _STEP[granularity]


_VOLUME_SQL = """
    SELECT date_trunc('{g}', ts) AS bucket,
           count(*) FILTER (WHERE src_ip = $ip)::BIGINT AS sent_flows,
           count(*) FILTER (WHERE dst_ip = $ip)::BIGINT AS received_flows,
           sum(CASE WHEN src_ip = $ip THEN coalesce(src_bytes, 0) ELSE 0 END
               + CASE WHEN dst_ip = $ip THEN coalesce(dst_bytes, 0) ELSE 0 END)::BIGINT
               AS sent_bytes,
           sum(CASE WHEN src_ip = $ip THEN coalesce(dst_bytes, 0) ELSE 0 END
               + CASE WHEN dst_ip = $ip THEN coalesce(src_bytes, 0) ELSE 0 END)::BIGINT
               AS received_bytes,
           sum(CASE WHEN src_ip = $ip THEN coalesce(src_pkts, 0) ELSE 0 END
               + CASE WHEN dst_ip = $ip THEN coalesce(dst_pkts, 0) ELSE 0 END)::BIGINT
               AS sent_packets,
           sum(CASE WHEN src_ip = $ip THEN coalesce(dst_pkts, 0) ELSE 0 END
               + CASE WHEN dst_ip = $ip THEN coalesce(src_pkts, 0) ELSE 0 END)::BIGINT
               AS received_packets
    FROM flows
    WHERE (src_ip = $ip OR dst_ip = $ip) AND ts >= $start AND ts < $end
      AND day >= CAST($start AS DATE) AND day <= CAST($end AS DATE)
      AND (len($ports) = 0 OR list_contains($ports, dst_port))
    GROUP BY 1
"""

_KEYS = tuple(f"{d}_{m}" for m in METRICS for d in ("sent", "received"))


def volume_series(ws: Workspace, host: str, *, port: int | None = None,
                  ports: str | None = None, granularity: str = "hour",
                  start: dt.datetime | None = None, end: dt.datetime | None = None
                  ) -> dict[str, Any]:
    """Hourly or daily flows, bytes and packets sent and received by ``host``.

    The window defaults to the host's data, whole buckets. ``current`` holds one list per
    ``sent_/received_`` + metric, aligned with ``buckets`` (the bucket starts); ``week_ago``
    the same buckets seven days earlier, or None when the workspace has no data that far
    back (a bucket before the first day of data is None, not 0). ``log_scale`` tells, per
    metric, whether its values span more than :data:`LOG_DECADES` decades.
    """
    if granularity not in _STEP:
        raise GraphFlowError(f"granularity {granularity!r}: expected hour or day")
    label, port_list = resolve_ports(port, ports)
    con = connect(ws)
    try:
        lo, hi = con.execute(
            "SELECT min(ts), max(ts) FROM flows WHERE src_ip = $ip OR dst_ip = $ip",
            {"ip": host}).fetchone() or (None, None)
        data_lo = (con.execute("SELECT min(ts) FROM flows").fetchone() or (None,))[0]
        if lo is None and (start is None or end is None):
            raise GraphFlowError(f"no flows of {host} in this workspace")
        s = _floor(start if start is not None else lo, granularity)
        e = _ceil(end if end is not None else hi + dt.timedelta(microseconds=1), granularity)
        if e <= s:
            raise GraphFlowError("empty window: --from must be before --to")
        nb = int((e - s) / _STEP[granularity])
        if nb > 20_000:
            raise GraphFlowError(f"{nb} buckets: use --daily or a shorter window")
        buckets = [s + i * _STEP[granularity] for i in range(nb)]
        sql = _VOLUME_SQL.format(g=granularity)  # granularity checked against _STEP above

        def fetch(a: dt.datetime, b: dt.datetime) -> dict[dt.datetime, tuple[int, ...]]:
            rows = con.execute(sql, {"ip": host, "start": a, "end": b,
                                     "ports": port_list}).fetchall()
            return {_utc(r[0]): tuple(int(x or 0) for x in r[1:]) for r in rows}

        cur = fetch(s, e)
        prev_start = s - _WEEK
        have_prev = data_lo is not None and _utc(data_lo) < e - _WEEK
        prev = fetch(prev_start, e - _WEEK) if have_prev else {}
    finally:
        con.close()
    cols = ("sent_flows", "received_flows", "sent_bytes", "received_bytes", "sent_packets",
            "received_packets")
    current = {k: [cur.get(b, (0,) * 6)[cols.index(k)] for b in buckets] for k in _KEYS}
    week_ago: dict[str, list[int | None]] | None = None
    if have_prev:
        first_day = _floor(_utc(data_lo), "day")
        week_ago = {k: [None if b - _WEEK + _STEP[granularity] <= first_day
                        else prev.get(b - _WEEK, (0,) * 6)[cols.index(k)] for b in buckets]
                    for k in _KEYS}
    log_scale = {}
    for m in METRICS:
        vals: list[int | None] = [*current[f"sent_{m}"], *current[f"received_{m}"]]
        if week_ago:
            vals += [*week_ago[f"sent_{m}"], *week_ago[f"received_{m}"]]
        log_scale[m] = use_log(vals)
    return {"kind": "volume", "host": host, "ports": port_list, "port_label": label,
            "granularity": granularity, "start": _iso(s), "end": _iso(e),
            "buckets": [_iso(b) for b in buckets], "current": current, "week_ago": week_ago,
            "log_scale": log_scale}


_TALKER_SQL = """
    WITH t AS (
        SELECT src_ip AS ip, count(*) AS sent_flows, 0 AS received_flows,
               sum(coalesce(src_bytes, 0)) AS sent_bytes, sum(coalesce(dst_bytes, 0))
               AS received_bytes, sum(coalesce(src_pkts, 0)) AS sent_packets,
               sum(coalesce(dst_pkts, 0)) AS received_packets
        FROM flows WHERE ts >= $start AND ts < $end GROUP BY 1
        UNION ALL
        SELECT dst_ip, 0, count(*), sum(coalesce(dst_bytes, 0)), sum(coalesce(src_bytes, 0)),
               sum(coalesce(dst_pkts, 0)), sum(coalesce(src_pkts, 0))
        FROM flows WHERE ts >= $start AND ts < $end GROUP BY 1)
    SELECT ip, sum({col})::BIGINT AS value FROM t GROUP BY ip HAVING sum({col}) > 0
    ORDER BY value DESC, ip LIMIT $n
"""

#: top kinds: talkers by a metric and direction, or scanners by a top_scanners ranking
TOP_KINDS = ("talkers", "scanners")
SCANNER_RANKINGS = ("widest", "active", "scanned")


def top_series(ws: Workspace, kind: str = "talkers", *, n: int = 10, metric: str = "bytes",
               direction: str = "sent", ranking: str = "widest", max_pkts: int | None = None,
               max_bytes: int | None = None, start: dt.datetime | None = None,
               end: dt.datetime | None = None) -> dict[str, Any]:
    """Top-N bar data: ``talkers`` (hosts by ``metric`` ``sent``/``received``/``total``, over
    the flows in the window) or ``scanners`` (the ``top_scanners`` analysis' ``ranking``:
    ``widest`` own hosts reached, ``active`` contacts, ``scanned`` own hosts by scanners).

    Scanner ranks include ties (as the analysis reports them), so there may be more than
    ``n`` bars; each bar carries its finding id.
    """
    if kind == "talkers":
        if metric not in METRICS:
            raise GraphFlowError(f"metric {metric!r}: expected one of {', '.join(METRICS)}")
        if direction not in ("sent", "received", "total"):
            raise GraphFlowError(f"direction {direction!r}: expected sent, received or total")
        col = (f"{direction}_{metric}" if direction != "total"
               else f"sent_{metric} + received_{metric}")
        lo = _utc(start) if start else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        hi = _utc(end) if end else dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
        con = connect(ws)
        try:
            # col is built from validated enumerations only; values are parameters
            rows = con.execute(_TALKER_SQL.format(col=col),
                               {"start": lo, "end": hi, "n": int(n)}).fetchall()
        finally:
            con.close()
        bars = [{"label": ip, "value": int(v), "finding": None} for ip, v in rows]
        label = f"{metric} {direction}"
    elif kind == "scanners":
        if ranking not in SCANNER_RANKINGS:
            raise GraphFlowError(f"ranking {ranking!r}: expected one of "
                                 f"{', '.join(SCANNER_RANKINGS)}")
        from graphflow.analyses import run_analysis
        from graphflow.window import window_workspace

        measure = {"widest": "own_hosts", "active": "contacts", "scanned": "peers"}[ranking]
        with window_workspace(ws, start, end) as sub:
            found = run_analysis(sub, "top_scanners", {
                "ranking": ranking, "top_n": n, "max_pkts": max_pkts, "max_bytes": max_bytes})
        bars = [{"label": f.entity, "value": int(f.figures[measure]), "finding": f.id,
                 "rank": int(f.figures["rank"])} for f in found]
        label = {"widest": "own hosts reached", "active": "contacts (own host, day)",
                 "scanned": "low-profile peers"}[ranking]
    else:
        raise GraphFlowError(f"top {kind!r}: expected one of {', '.join(TOP_KINDS)}")
    return {"kind": "top", "what": kind, "ranking": ranking if kind == "scanners" else None,
            "metric": metric if kind == "talkers" else None,
            "direction": direction if kind == "talkers" else None, "value_label": label,
            "n": n, "bars": bars, "log_scale": use_log([b["value"] for b in bars])}


#: The analyses whose findings name scanning sources (entity, or members of a group).
SCAN_ANALYSES = ("fanout_scanners", "vertical_scans", "syn_only_scans", "low_and_slow",
                 "coordinated_scanners", "scanner_got_in")


def country_series(ws: Workspace, *, start: dt.datetime | None = None,
                   end: dt.datetime | None = None, params: dict[str, dict[str, Any]] | None = None,
                   progress: Progress | None = None) -> dict[str, Any]:
    """External scanners per country: the sources named by the scan analyses' findings
    (:data:`SCAN_ANALYSES`; a coordinated group counts its members) joined with
    ``hosts.country``; own hosts are left out, no country is ``"??"``."""
    from graphflow.analyses import run_analysis
    from graphflow.analyses.context import open_context
    from graphflow.window import window_workspace

    with window_workspace(ws, start, end) as sub:
        sources: dict[str, set[str]] = {}
        for name in SCAN_ANALYSES:
            if progress:
                progress(name)
            for f in run_analysis(sub, name, (params or {}).get(name)):
                ips = f.members if name == "coordinated_scanners" else [f.entity]
                for ip in ips:
                    sources.setdefault(ip, set()).add(f.id)
        with open_context(sub) as ctx:
            info = {r["ip"]: r for r in ctx.rows(
                "SELECT ip, own, country, country_name FROM hosts "
                "WHERE list_contains($ips, ip)", {"ips": sorted(sources)})}
    from graphflow.query import ip_sort_key

    by: dict[str, dict[str, Any]] = {}
    for ip in sorted(sources, key=ip_sort_key):
        h = info.get(ip, {})
        if h.get("own"):
            continue
        code = h.get("country") or "??"
        row = by.setdefault(code, {"country": code, "country_name": h.get("country_name"),
                                   "scanners": 0, "ips": [], "findings": {}})
        row["scanners"] += 1
        row["ips"].append(ip)
        row["findings"][ip] = sorted(sources[ip])
    rows = sorted(by.values(), key=lambda r: (-r["scanners"], r["country"]))
    return {"kind": "countries", "analyses": list(SCAN_ANALYSES), "countries": rows,
            "log_scale": use_log([r["scanners"] for r in rows])}


# ---- rendering -------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["svg.hashsalt"] = "graphflow"  # reproducible SVG ids
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, out: Path) -> None:
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise GraphFlowError(f"{out}: expected a .png or .svg file name")
    meta = {"Date": None} if fmt == "svg" else {"Software": "GraphFlow"}
    fig.savefig(out, format=fmt, dpi=100, bbox_inches="tight", metadata=meta)


def _volume_figure(plt: Any, doc: dict[str, Any]) -> Any:
    times = [dt.datetime.fromisoformat(b.replace("Z", "+00:00")) for b in doc["buckets"]]
    fig, axes = plt.subplots(len(METRICS), 1, figsize=(11, 8), sharex=True)
    colours = {"sent": "#1f77b4", "received": "#d62728"}
    for ax, m in zip(axes, METRICS, strict=True):
        if doc["week_ago"]:
            for d in ("sent", "received"):
                vals = [math.nan if v is None else v for v in doc["week_ago"][f"{d}_{m}"]]
                ax.plot(times, vals, color=colours[d], alpha=0.35, linestyle="--",
                        linewidth=1, label=f"{d}, a week earlier")
        for d in ("sent", "received"):
            ax.plot(times, doc["current"][f"{d}_{m}"], color=colours[d], linewidth=1.4,
                    label=d)
        if doc["log_scale"][m]:
            ax.set_yscale("symlog", linthresh=1)
        ax.set_ylabel(m + (" (log)" if doc["log_scale"][m] else ""))
        ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8, ncol=2)
    axes[0].set_title(f"{doc['host']} · {doc['port_label']} · {doc['granularity']}ly · "
                      f"{doc['start'][:10]} to {doc['end'][:10]}")
    fig.autofmt_xdate()
    return fig


def _bar_figure(plt: Any, labels: list[str], values: list[int], title: str, xlabel: str,
                log: bool) -> Any:
    fig, ax = plt.subplots(figsize=(9, max(2.5, 0.35 * len(labels) + 1)))
    ypos = list(range(len(labels)))
    ax.barh(ypos, values, color="#1f77b4")
    ax.set_yticks(ypos, labels=labels, fontsize=8)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel + (" (log)" if log else ""))
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def _daily_figure(plt: Any, doc: dict[str, Any]) -> Any:
    fig, ax = plt.subplots(figsize=(9, 2.6))
    labels = [str(x) for x in doc["labels"]]
    colours = ["#d62728" if x == doc.get("highlight") else "#1f77b4" for x in labels]
    ax.bar(range(len(labels)), doc["values"], color=colours)
    ax.set_xticks(range(len(labels)), labels=[x[5:] for x in labels], fontsize=7,
                  rotation=45)
    if doc["log_scale"]:
        ax.set_yscale("log")
    ax.set_ylabel(doc["value_label"] + (" (log)" if doc["log_scale"] else ""), fontsize=8)
    ax.set_title(doc["title"], fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def daily_doc(title: str, per_day: dict[str, int], value_label: str,
              highlight: str | None = None) -> dict[str, Any]:
    """A per-day bar document (``kind: daily``), e.g. a host's ingress with its peak day."""
    labels = sorted(per_day)
    values = [int(per_day[d]) for d in labels]
    return {"kind": "daily", "title": title, "labels": labels, "values": values,
            "value_label": value_label, "highlight": highlight, "log_scale": use_log(values)}


def figure(doc: dict[str, Any]) -> Any:
    """The matplotlib figure of a series document (volume, top or countries)."""
    plt = _pyplot()
    if doc["kind"] == "volume":
        return _volume_figure(plt, doc)
    if doc["kind"] == "top":
        what = doc["ranking"] if doc["what"] == "scanners" else "talkers"
        return _bar_figure(plt, [b["label"] for b in doc["bars"]],
                           [b["value"] for b in doc["bars"]], f"top {what}",
                           doc["value_label"], doc["log_scale"])
    if doc["kind"] == "daily":
        return _daily_figure(plt, doc)
    if doc["kind"] == "countries":
        return _bar_figure(plt, [r["country"] for r in doc["countries"]],
                           [r["scanners"] for r in doc["countries"]], "scanners by country",
                           "external scanners", doc["log_scale"])
    raise GraphFlowError(f"unknown series kind {doc.get('kind')!r}")


def render(doc: dict[str, Any], out: Path) -> Path:
    """Draw ``doc`` into ``out`` (.png or .svg)."""
    plt = _pyplot()
    fig = figure(doc)
    try:
        _save(fig, Path(out))
    finally:
        plt.close(fig)
    return Path(out)


def render_bytes(doc: dict[str, Any], fmt: str = "svg") -> bytes:
    """``doc`` drawn as SVG or PNG bytes (for embedding in the report)."""
    import io

    plt = _pyplot()
    fig = figure(doc)
    buf = io.BytesIO()
    try:
        meta = {"Date": None} if fmt == "svg" else {"Software": "GraphFlow"}
        fig.savefig(buf, format=fmt, dpi=100, bbox_inches="tight", metadata=meta)
    finally:
        plt.close(fig)
    return buf.getvalue()
