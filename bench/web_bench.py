"""Web UI benchmark (not run in CI): a bounded load test of the JSON API and the time Chromium
needs to lay out a large graph.

1. A workspace of ``--flows`` generated flows (default 1M; built once, kept in bench/out/).
2. ``graphflow serve`` as a subprocess on a free loopback port.
3. Load: ``--clients`` (20) concurrent keep-alive clients for ``--seconds`` (60) seconds, each
   cycling through the three endpoints the issue names: a host's neighbourhood graph (the
   busiest host with at most 2,000 edges), a finding's subgraph (``/api/graph?finding=``) and
   a page of flows. It prints requests/s and p50/p99 per endpoint, and beside them the
   reference: the same library calls made in-process, one at a time (no HTTP, no
   concurrency), and the server's peak memory.
4. Chromium: the graph page draws a ``--nodes`` x ``--edges`` (5,000 x 20,000) graph with the
   default layout (fCoSE); it prints the time until the layout has stopped and the time until
   the graph then answers an input (a zoom, up to the next painted frame).

    python bench/web_bench.py [--flows 1000000] [--seconds 60] [--clients 20]

Everything runs on loopback and stops by itself (time-bounded and request-bounded).
Results also go to bench/out/web.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DAYS = 14
MAX_REQUESTS = 500_000  # a hard bound on top of the time bound


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_workspace(flows: int) -> Path:
    from graphflow.generate import GeneratorConfig, generate
    from graphflow.ingestion import ingest_files
    from graphflow.workspace import Workspace

    root = OUT / f"web-{flows}"
    ws_dir = root / "ws"
    if Workspace.is_current(ws_dir):
        return ws_dir
    shutil.rmtree(root, ignore_errors=True)  # none yet, or one of an older GraphFlow
    per_day = math.ceil(flows / (DAYS * 0.78))  # weekends are quieter: ~0.8 of the target
    log(f"generating ~{flows:,} flows ({per_day:,} per weekday) into {root}")
    generate(GeneratorConfig(days=DAYS, flows_per_day=per_day), root / "data")
    report = ingest_files([root / "data" / "conn.log"], Workspace.open(ws_dir))
    log(f"ingested {report.loaded:,} flows")
    return ws_dir


def pick_targets(ws_dir: Path, n: int = 30) -> dict[str, list[str]]:
    """URLs of the three endpoints under test, each over ``n`` different subjects: the
    neighbourhoods (at most 2,000 edges) of the busiest hosts, the findings of the scan
    analyses, pages of flows."""
    from graphflow.db import connect
    from graphflow.workspace import Workspace

    ws = Workspace.open(ws_dir, create=False)
    con = connect(ws)
    try:
        rows = con.execute("""
            WITH e AS (SELECT DISTINCT src_ip, dst_ip, dst_port, proto FROM edges),
                 n AS (SELECT ip, count(*) AS k FROM (SELECT src_ip AS ip FROM e
                       UNION ALL SELECT dst_ip FROM e) GROUP BY ip)
            SELECT ip, k FROM n WHERE k <= 2000 ORDER BY k DESC, ip LIMIT ?""", [n]).fetchall()
    finally:
        con.close()
    hosts = [ip for ip, _ in rows]
    targets = {"graph": [f"/api/graph?host={h}&collapse=none&max_edges=2000" for h in hosts],
               "flows": [f"/api/flows?host={h}&limit=100&offset={100 * (i % 5)}"
                         for i, h in enumerate(hosts)]}
    try:
        from graphflow.analyses import run_analysis

        ids: list[str] = []
        for name in ("fanout_scanners", "syn_only_scans", "vertical_scans", "low_and_slow",
                     "coordinated_scanners", "ingress_peaks"):
            try:
                ids += [f.id for f in run_analysis(ws, name)]
            except Exception as exc:  # a broken analysis must not stop the bench
                log(f"{name}: {exc}")
        if ids:
            targets["finding"] = [f"/api/graph?finding={i}" for i in ids[:n]]
    except ImportError:
        log("graphflow.analyses not installed: no finding endpoint")
    log(f"neighbourhoods: {len(hosts)} hosts, {rows[0][1]} to {rows[-1][1]} edges; "
        f"findings: {len(targets.get('finding', []))}")
    return targets


def start_server(ws_dir: Path, threads: int, cache: bool) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "GRAPHFLOW_WEB_CACHE": "256" if cache else "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphflow", "serve", "--workspace", str(ws_dir), "--port", "0",
         "--threads", str(threads), "--json"], stdout=subprocess.PIPE, text=True, cwd=ROOT,
        env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("graphflow serve did not start")
    return proc, json.loads(line)["url"]


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_test(url: str, targets: dict[str, list[str]], clients: int,
              seconds: float) -> dict[str, list[float]]:
    u = urlparse(url)
    names = sorted(targets)
    lat: dict[str, list[float]] = {n: [] for n in names}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    count = [0]

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        i = k
        while time.monotonic() < deadline:
            with lock:
                if count[0] >= MAX_REQUESTS:
                    break
                count[0] += 1
            name = names[i % len(names)]
            paths = targets[name]
            path = paths[(i // len(names)) % len(paths)]
            t0 = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            dt = time.perf_counter() - t0
            with lock:
                if resp.status == 200:
                    lat[name].append(dt)
                else:
                    errors.append(f"{resp.status} {path}: {body[:200]!r}")
            i += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        log(f"{len(errors)} failed requests, first: {errors[0]}")
    return lat


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000


def reference(ws_dir: Path, targets: dict[str, list[str]]) -> dict[str, float]:
    """p50 (ms) of the same requests in-process, one at a time, no HTTP, no cache."""
    from graphflow.workspace import Workspace
    from web import create_app

    client = create_app(store=Workspace.open(ws_dir, create=False),
                        settings={"GRAPHFLOW_RESPONSE_CACHE": 0}).test_client()
    out = {}
    for name, paths in targets.items():
        times = []
        for path in paths:
            t0 = time.perf_counter()
            r = client.get(path)
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.get_data(as_text=True)[:300]
        out[name] = statistics.median(times) * 1000
    return out


LAYOUT_JS = """
const [nNodes, nEdges, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
let seed = 42;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const nodes = [], edges = [], ends = [];
for (let i = 0; i < nNodes; i++) {
  const ip = '10.' + ((i >> 16) & 255) + '.' + ((i >> 8) & 255) + '.' + (i & 255);
  nodes.push({id: ip, kind: 'host', ip: ip, address_class: i % 3 ? 'private' : 'public',
              in_degree: 0, out_degree: 0, in_flows: 0, out_flows: 0, bytes: 0});
}
const seen = new Set();
while (edges.length < nEdges) {  // preferential attachment: a few hubs, many leaves
  const hub = ends.length && rnd() < 0.5;
  const a = hub ? ends[Math.floor(rnd() * ends.length)] : Math.floor(rnd() * nNodes);
  const b = Math.floor(rnd() * nNodes);
  const key = a + '-' + b;
  if (a === b || seen.has(key)) continue;
  seen.add(key); ends.push(a, b);
  const f = 1 + Math.floor(rnd() * 50);
  edges.push({id: 'e' + edges.length, source: nodes[a].id, target: nodes[b].id, dst_port: 443,
              proto: 'tcp', flows: f, bytes: f * 1000, src_bytes: f * 400, dst_bytes: f * 600,
              syn_only_flows: 0, failed_flows: 0, services: 1, service_list: ['tcp/443']});
  nodes[a].out_degree++; nodes[b].in_degree++; nodes[a].out_flows += f; nodes[b].in_flows += f;
}
const doc = {ok: true, nodes: nodes, edges: edges, query: {kind: 'selection', cli: '', params: {}},
  stats: {nodes: nNodes, edges_shown: nEdges, edges_total: nEdges, truncated: false,
          collapsed_by: null, max_edges: nEdges, selection_edges: nEdges}};
const before = Number(document.body.dataset.render || 0);
const t0 = performance.now();
graphflow.render(doc);
const poll = () => {
  if (Number(document.body.dataset.render || 0) > before) {
    const t1 = performance.now();
    const cy = graphflow.cy;
    cy.zoom({level: cy.zoom() * 1.25, renderedPosition: {x: 300, y: 300}});
    requestAnimationFrame(() => requestAnimationFrame(() => {
      done({layout_ms: t1 - t0, input_ms: performance.now() - t1, steps: graphflow.timings,
            nodes: cy.nodes().length, edges: cy.edges().length});
    }));
  } else { setTimeout(poll, 20); }
};
poll();
"""


def browser_layout(url: str, nodes: int, edges: int) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--window-size=1600,1000",
                 f"--user-data-dir={tempfile.mkdtemp(prefix='gf-bench-')}"):
        opts.add_argument(flag)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        d.set_script_timeout(600)
        d.get(url + "?host=192.0.2.250")
        WebDriverWait(d, 60).until(
            lambda drv: drv.execute_script("return document.body.dataset.state") == "ready")
        result: dict[str, float] = d.execute_async_script(LAYOUT_JS, nodes, edges)
        return result
    finally:
        d.quit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--threads", type=int, default=8, help="server worker threads")
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--edges", type=int, default=20000)
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--skip-browser", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ws_dir = build_workspace(args.flows)
    targets = pick_targets(ws_dir)
    results: dict[str, object] = {"flows": args.flows, "clients": args.clients,
                                  "seconds": args.seconds, "cpus": os.cpu_count()}
    if not args.skip_load:
        ref = reference(ws_dir, targets)
        for cache in (False, True):
            proc, url = start_server(ws_dir, args.threads, cache)
            try:
                label = "with the response cache" if cache else "no response cache"
                log(f"load ({label}): {args.clients} clients for {args.seconds:.0f} s on {url}")
                t0 = time.perf_counter()
                lat = load_test(url, targets, args.clients, args.seconds)
                wall = time.perf_counter() - t0
                rss = peak_rss_mib(proc.pid)
            finally:
                proc.terminate()
                proc.wait(30)
            total = sum(len(v) for v in lat.values())
            print(f"\nweb API, {label}: {args.clients} clients, {wall:.0f} s, "
                  f"{total / wall:,.1f} requests/s, server peak RSS {rss:,.0f} MiB")
            print(f"{'endpoint':10} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} "
                  f"{'reference p50 ms (in-process, 1 at a time)':>44}")
            per = {}
            for name, v in sorted(lat.items()):
                per[name] = {"requests": len(v), "p50_ms": pct(v, 50), "p99_ms": pct(v, 99),
                             "reference_p50_ms": ref[name]}
                print(f"{name:10} {len(v):9d} {pct(v, 50):8.1f} {pct(v, 99):8.1f} "
                      f"{ref[name]:44.1f}")
            results["cache" if cache else "no_cache"] = {
                "requests_per_s": total / wall, "endpoints": per, "server_peak_rss_mib": rss}
    if not args.skip_browser:
        proc, url = start_server(ws_dir, args.threads, True)
        try:
            r = browser_layout(url, args.nodes, args.edges)
        finally:
            proc.terminate()
            proc.wait(30)
        print(f"\nChromium: {int(r['nodes']):,} nodes / {int(r['edges']):,} edges laid out "
              f"(fCoSE) in {r['layout_ms'] / 1000:.1f} s; answers input after a further "
              f"{r['input_ms']:.0f} ms; total {(r['layout_ms'] + r['input_ms']) / 1000:.1f} s"
              f" (target < 10 s); steps (ms): {r.get('steps')}")
        results["browser"] = r
    (OUT / "web.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
