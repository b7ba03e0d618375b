"""Per-format ingest benchmark: every reader on the same synthetic flows, against Zeek's.

The flows are made with numpy (seeded; no external tool) and written in each format as that
format carries them: Zeek conn.log TSV with Zeek's 21 default fields (the baseline), Argus
binetflow CSV, nfdump CSV with one record per direction (so the nfdump and flow-tools readers
also stitch), flow-tools
``flow-export -f2``, VAST 2013 CSV (10% of records written from the server's side, repaired),
tshark CSV (the flows' packets, 1-6 per flow) and a pcap of those packets (Ethernet/IPv4).
Files are kept in ``bench/out/readers-<N>/``.

For each format it times the reader alone (file -> canonical Arrow batches, validation,
stitching, aggregation included; no workspace; fastest of ``--repeat`` runs) and reports
seconds, flows/s, microseconds per flow and the ratio to the Zeek reader's time per flow
(Zeek is re-run alongside each format, so the ratio holds while a shared machine's load
drifts); for pcap and tshark also packets/s; and the peak resident memory of one more read in a
fresh interpreter, Zeek's beside each. Results go to ``bench/out/readers.json``.

The process sets glibc's malloc as the ``graphflow`` CLI does
(:func:`graphflow.memory.keep_freed_memory`); ``--malloc-default`` leaves it as it is, the
setting of a program that uses the library without it.

    python bench/readers_bench.py --flows 1000000
    python bench/readers_bench.py --flows 10000000 --formats zeek,argus,nfdump
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OUT = Path(__file__).resolve().parent / "out"
FORMATS = ("zeek", "argus", "nfdump", "flowtools", "vast", "tshark", "pcap")
T0 = 1_700_000_000.0


class Flows:
    """N synthetic connections (columns as numpy arrays)."""

    def __init__(self, n: int, seed: int = 11) -> None:
        rng = np.random.default_rng(seed)
        self.n = n
        self.ts = T0 + np.sort(rng.uniform(0, 86400 * 2, n))
        self.dur = np.round(rng.exponential(2.0, n), 6)
        self.src = rng.integers(0, 20000, n)
        self.dst = rng.integers(0, 3000, n)
        self.sport = rng.integers(1024, 65536, n)
        self.dport = rng.choice([22, 53, 80, 443, 445, 3389, 8080, 25, 123, 5353], n)
        self.proto = np.where(np.isin(self.dport, [53, 123, 5353]), 17, 6)
        self.spk = rng.integers(1, 4, n)
        self.dpk = np.where(rng.random(n) < 0.2, 0, rng.integers(1, 4, n))
        self.sby = self.spk * rng.integers(40, 600, n)
        self.dby = self.dpk * rng.integers(40, 1400, n)
        self.state = np.where(self.proto == 6, np.where(self.dpk == 0, "S0", "SF"),
                              np.where(self.dpk == 0, "INT", "CON"))

    def ip(self, idx: np.ndarray, net: str) -> pa.Array:
        a, b = idx // 250, idx % 250 + 1
        return pc.binary_join_element_wise(pa.array(np.full(len(idx), net)),
                                           pa.array(a.astype(str)), pa.array(b.astype(str)), ".")


def _s(x: np.ndarray | pa.Array) -> pa.Array:
    return x if isinstance(x, pa.Array | pa.ChunkedArray) else pa.array(np.asarray(x).astype(str))


def _write(path: Path, header: str, cols: list[np.ndarray | pa.Array], sep: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    step = 1_000_000
    n = len(cols[0])
    with open(path, "w") as fh:
        if header:
            fh.write(header + "\n")
        for i in range(0, n, step):
            part = [_s(c[i:i + step]) for c in cols]
            lines = pc.binary_join_element_wise(*part, sep)
            fh.write("\n".join(lines.to_pylist()) + "\n")


def _time_text(ts: np.ndarray, fmt: str) -> pa.Array:
    us = (ts * 1e6).astype("int64").astype("datetime64[us]")
    return pc.strftime(pa.array(us, pa.timestamp("us")), format=fmt)


def write_zeek(f: Flows, p: Path) -> None:
    """A genuine conn.log: Zeek's 21 default fields."""
    names = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
             "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
             "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
             "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
    head = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n" \
           "#path\tconn\n#fields\t" + "\t".join(names)
    uid = pa.array(np.char.add("C", np.arange(f.n).astype(str)))
    hist = np.where(f.proto == 6, np.where(f.dpk == 0, "S", "ShADadFf"), "Dd")
    svc = np.where(f.dport == 53, "dns", np.where(f.dport == 443, "ssl", "-"))
    t, fl = np.full(f.n, "T"), np.full(f.n, "F")
    _write(p, head, [np.char.mod("%.6f", f.ts), uid, f.ip(f.src, "10.0"), f.sport,
                     f.ip(f.dst, "172.16"), f.dport, np.where(f.proto == 6, "tcp", "udp"), svc,
                     np.char.mod("%.6f", f.dur), f.sby - 40 * f.spk, np.maximum(
                         f.dby - 40 * f.dpk, 0), f.state, t, fl, np.zeros(f.n, np.int64), hist,
                     f.spk, f.sby, f.dpk, f.dby, np.full(f.n, "(empty)")], "\t")


def write_argus(f: Flows, p: Path) -> None:
    head = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes," \
           "SrcBytes,SrcPkts,Label"
    st = np.where(f.proto == 6, np.where(f.dpk == 0, "S_", "FSPA_FSPA"),
                  np.where(f.dpk == 0, "INT", "CON"))
    _write(p, head, [_time_text(f.ts, "%Y/%m/%d %H:%M:%S"), np.char.mod("%.6f", f.dur),
                     np.where(f.proto == 6, "tcp", "udp"), f.ip(f.src, "10.0"), f.sport,
                     np.where(f.dpk == 0, "   ->", "  <->"), f.ip(f.dst, "172.16"), f.dport, st,
                     f.spk + f.dpk, (f.sby + f.dby) + 14 * (f.spk + f.dpk), f.sby + 14 * f.spk,
                     f.spk, np.full(f.n, "flow=Background")], ",")


def _unidirectional(f: Flows) -> dict[str, np.ndarray | pa.Array]:
    """Two records per answered flow (forward, then reverse 1 ms later), time-ordered."""
    back = f.dpk > 0
    idx = np.concatenate([np.arange(f.n), np.flatnonzero(back)])
    rev = np.concatenate([np.zeros(f.n, bool), np.ones(int(back.sum()), bool)])
    ts = f.ts[idx] + rev * 0.001
    order = np.argsort(ts, kind="stable")
    idx, rev, ts = idx[order], rev[order], ts[order]
    src, dst = f.ip(f.src, "10.0").take(pa.array(idx)), f.ip(f.dst, "172.16").take(pa.array(idx))
    rv = pa.array(rev)
    return {"ts": ts, "te": ts + f.dur[idx], "sa": pc.if_else(rv, dst, src),
            "da": pc.if_else(rv, src, dst),
            "sp": np.where(rev, f.dport[idx], f.sport[idx]),
            "dp": np.where(rev, f.sport[idx], f.dport[idx]), "pr": f.proto[idx],
            "pkts": np.where(rev, f.dpk[idx], f.spk[idx]),
            "bytes": np.where(rev, f.dby[idx], f.sby[idx]),
            "flg": np.where(f.proto[idx] == 6, np.where(
                rev, 0x1b, np.where(f.dpk[idx] > 0, 0x1b, 0x02)), 0)}


def write_nfdump(f: Flows, p: Path) -> None:
    from ingest.nfdump import CLASSIC_FIELDS

    u = _unidirectional(f)
    n = len(u["ts"])
    letters = {0: "........", 0x02: "......S.", 0x1b: "...AP.SF"}
    flg = pc.take(pa.array(list(letters.values())),
                  pa.array(np.searchsorted([0, 2, 0x1b], u["flg"])))
    cols: dict[str, np.ndarray | pa.Array] = {
        "ts": _time_text(u["ts"], "%Y-%m-%d %H:%M:%S"),
        "te": _time_text(u["te"], "%Y-%m-%d %H:%M:%S"),
        "td": np.char.mod("%.3f", u["te"] - u["ts"]), "sa": u["sa"], "da": u["da"],
        "sp": u["sp"], "dp": u["dp"], "pr": np.where(u["pr"] == 6, "TCP", "UDP"), "flg": flg,
        "ipkt": u["pkts"], "ibyt": u["bytes"]}
    zero = np.zeros(n, np.int64)
    _write(p, ",".join(CLASSIC_FIELDS), [cols.get(c, zero) for c in CLASSIC_FIELDS], ",")


def write_flowtools(f: Flows, p: Path) -> None:
    from ingest.flowtools import FIELDS

    u = _unidirectional(f)
    n = len(u["ts"])
    secs = np.floor(u["te"]).astype(np.int64) + 1
    uptime = np.full(n, 4_000_000_000 // 2, np.int64)
    first = uptime - ((secs - u["ts"]) * 1000).astype(np.int64)
    last = uptime - ((secs - u["te"]) * 1000).astype(np.int64)
    cols = {"unix_secs": secs, "sysuptime": uptime, "first": first, "last": last,
            "srcaddr": u["sa"], "dstaddr": u["da"], "srcport": u["sp"], "dstport": u["dp"],
            "prot": u["pr"], "dpkts": u["pkts"], "doctets": u["bytes"], "tcp_flags": u["flg"],
            "exaddr": np.full(n, "192.0.2.1"), "nexthop": np.full(n, "0.0.0.0")}
    zero = np.zeros(n, np.int64)
    _write(p, "#:" + ",".join(FIELDS), [cols.get(c, zero) for c in FIELDS], ",")


def write_vast(f: Flows, p: Path) -> None:
    head = ("TimeSeconds,parsedDate,dateTimeStr,ipLayerProtocol,ipLayerProtocolCode,"
            "firstSeenSrcIp,firstSeenDestIp,firstSeenSrcPort,firstSeenDestPort,moreFragments,"
            "contFragments,durationSeconds,firstSeenSrcPayloadBytes,firstSeenDestPayloadBytes,"
            "firstSeenSrcTotalBytes,firstSeenDestTotalBytes,firstSeenSrcPacketCount,"
            "firstSeenDestPacketCount,recordForceOut")
    rng = np.random.default_rng(5)
    sw = rng.random(f.n) < 0.1
    swa = pa.array(sw)
    src, dst = f.ip(f.src, "10.0"), f.ip(f.dst, "172.16")

    def pick(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.where(sw, b, a), np.where(sw, a, b)

    sp, dp = pick(f.sport, f.dport)
    sb, db = pick(f.sby, f.dby)
    sk, dk = pick(f.spk, f.dpk)
    zero = np.zeros(f.n, np.int64)
    _write(p, head, [np.char.mod("%.6f", f.ts), _time_text(f.ts, "%Y-%m-%d %H:%M:%S"),
                     np.char.mod("%.6f", f.ts), f.proto, np.where(f.proto == 6, "TCP", "UDP"),
                     pc.if_else(swa, dst, src), pc.if_else(swa, src, dst), sp, dp, zero, zero,
                     f.dur.astype(np.int64), sb, db, sb, db, sk, dk, zero], ",")


def _packets(f: Flows) -> dict[str, np.ndarray]:
    """Every packet of every flow (originator's first, replies interleaved), time-ordered."""
    total = f.spk + f.dpk
    flow = np.repeat(np.arange(f.n), total)
    k = np.arange(len(flow)) - np.repeat(np.cumsum(total) - total, total)
    rev = (k % 2 == 1) & (k // 2 < f.dpk[flow]) | (k >= 2 * np.minimum(
        f.spk, f.dpk)[flow] + f.spk[flow] - np.minimum(f.spk, f.dpk)[flow])
    rev &= f.dpk[flow] > 0
    ts = f.ts[flow] + np.where(total[flow] > 1, f.dur[flow] * k / np.maximum(
        total[flow] - 1, 1), 0)
    size = np.where(rev, f.dby[flow] // np.maximum(f.dpk[flow], 1),
                    f.sby[flow] // np.maximum(f.spk[flow], 1)).clip(40, 1500)
    flags = np.where(f.proto[flow] == 6, np.where(k == 0, 0x02, np.where(
        (k == 1) & rev, 0x12, 0x18)), -1)
    order = np.argsort(ts, kind="stable")
    return {"flow": flow[order], "rev": rev[order], "ts": ts[order], "size": size[order],
            "flags": flags[order]}


def write_tshark(f: Flows, p: Path) -> None:
    pk = _packets(f)
    fl, rv = pk["flow"], pa.array(pk["rev"])
    src, dst = f.ip(f.src, "10.0").take(pa.array(fl)), f.ip(f.dst, "172.16").take(pa.array(fl))
    sp = np.where(pk["rev"], f.dport[fl], f.sport[fl])
    dp = np.where(pk["rev"], f.sport[fl], f.dport[fl])
    tcp = f.proto[fl] == 6
    empty = np.full(len(fl), "")
    flags = np.where(tcp, np.char.mod("0x%04x", np.maximum(pk["flags"], 0)), "")
    _write(p, "frame.time_epoch,ip.src,ip.dst,tcp.srcport,tcp.dstport,udp.srcport,"
              "udp.dstport,ip.proto,ip.len,frame.len,tcp.flags",
           [np.char.mod("%.6f", pk["ts"]), pc.if_else(rv, dst, src), pc.if_else(rv, src, dst),
            np.where(tcp, sp.astype(str), empty), np.where(tcp, dp.astype(str), empty),
            np.where(~tcp, sp.astype(str), empty), np.where(~tcp, dp.astype(str), empty),
            f.proto[fl], pk["size"], pk["size"] + 14, flags], ",")


def write_pcap(f: Flows, p: Path) -> int:
    """Ethernet + IPv4 + TCP/UDP headers (no payload bytes stored: caplen = headers)."""
    pk = _packets(f)
    fl, rev = pk["flow"], pk["rev"]
    n = len(fl)
    s_ip = (10 << 24) | ((f.src[fl] // 250) << 8) | (f.src[fl] % 250 + 1)
    d_ip = (172 << 24) | (16 << 16) | ((f.dst[fl] // 250) << 8) | (f.dst[fl] % 250 + 1)
    src = np.where(rev, d_ip, s_ip).astype(">u4")
    dst = np.where(rev, s_ip, d_ip).astype(">u4")
    sp = np.where(rev, f.dport[fl], f.sport[fl]).astype(">u2")
    dp = np.where(rev, f.sport[fl], f.dport[fl]).astype(">u2")
    tcp = f.proto[fl] == 6
    l4 = np.where(tcp, 20, 8)
    caplen = 14 + 20 + l4
    iplen = np.maximum(pk["size"], 20 + l4).astype(">u2")
    rec = np.zeros((n, 16 + 54), np.uint8)
    secs = np.floor(pk["ts"]).astype("<u4")
    usec = ((pk["ts"] - np.floor(pk["ts"])) * 1e6).astype("<u4")
    rec[:, 0:4] = secs.view(np.uint8).reshape(n, 4)
    rec[:, 4:8] = usec.view(np.uint8).reshape(n, 4)
    rec[:, 8:12] = caplen.astype("<u4").view(np.uint8).reshape(n, 4)
    rec[:, 12:16] = (iplen.astype(np.int64) + 14).astype("<u4").view(np.uint8).reshape(n, 4)
    rec[:, 16:22] = [0, 1, 2, 3, 4, 5]
    rec[:, 22:28] = [0, 1, 2, 3, 4, 6]
    rec[:, 28:30] = [0x08, 0x00]
    rec[:, 30] = 0x45
    rec[:, 32:34] = iplen.view(np.uint8).reshape(n, 2)
    rec[:, 38] = 64
    rec[:, 39] = f.proto[fl]
    rec[:, 42:46] = src.view(np.uint8).reshape(n, 4)
    rec[:, 46:50] = dst.view(np.uint8).reshape(n, 4)
    rec[:, 50:52] = sp.view(np.uint8).reshape(n, 2)
    rec[:, 52:54] = dp.view(np.uint8).reshape(n, 2)
    rec[tcp, 62] = 0x50
    rec[tcp, 63] = np.maximum(pk["flags"][tcp], 0).astype(np.uint8)
    udp_len = (iplen.astype(np.int64) - 20).astype(">u2")
    rec[~tcp, 54:56] = udp_len[~tcp].view(np.uint8).reshape(-1, 2)
    lens = 16 + caplen
    flat = rec.reshape(-1)
    keep = (np.arange(70)[None, :] < lens[:, None]).reshape(-1)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        fh.write(flat[keep].tobytes())
    return n


WRITERS = {"zeek": ("conn.log", write_zeek), "argus": ("flows.binetflow", write_argus),
           "nfdump": ("flows.nfdump.csv", write_nfdump),
           "flowtools": ("flows.flow-export", write_flowtools), "vast": ("nf-flows.csv",
                                                                         write_vast),
           "tshark": ("packets.tshark.csv", write_tshark), "pcap": ("packets.pcap", write_pcap)}


def time_reader(fmt: str, path: Path) -> dict[str, float]:
    from ingest import READERS

    t0, c0 = time.perf_counter(), time.process_time()
    flows = rejects = 0
    notes: dict[str, int] = {}
    for b in READERS[fmt].read(str(path)):
        flows += b.table.num_rows
        rejects += len(b.rejects)
        for k, v in b.notes.items():
            notes[k] = notes.get(k, 0) + v
    secs = time.perf_counter() - t0
    # CPU seconds of the process (all threads): steadier than wall time on a shared machine
    cpu = time.process_time() - c0
    return {"seconds": secs, "cpu_seconds": cpu, "flows": flows, "rejects": rejects, **notes}


_PEAK = """
import sys
sys.path.insert(0, sys.argv[1])
if sys.argv[4] == "kept":
    from graphflow.memory import keep_freed_memory
    keep_freed_memory()
from ingest import READERS
for b in READERS[sys.argv[2]].read(sys.argv[3]):
    pass
# VmHWM: this image's peak (ru_maxrss would count the parent's pages, which the child had
# between fork and exec)
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(int(status.split()[0]) / 1024)  # KiB -> MiB
"""


def peak_rss_mib(fmt: str, path: Path, kept: bool) -> float:
    """Peak resident memory of a fresh interpreter that reads ``path`` once (malloc set as
    this process has it). Not a fork of this one: it would start with this process's pages."""
    import subprocess
    out = subprocess.run([sys.executable, "-c", _PEAK, str(Path(__file__).resolve().parents[1]),
                          fmt, str(path), "kept" if kept else "default"],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--repeat", type=int, default=2, help="runs per format; the fastest counts "
                    "(the machine may be shared)")
    ap.add_argument("--malloc-default", action="store_true", help="leave glibc's malloc as "
                    "it is (by default it keeps freed memory, as the graphflow CLI has it)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from graphflow.memory import keep_freed_memory
    kept = False if args.malloc_default else keep_freed_memory()
    f = Flows(args.flows)
    d = OUT / f"readers-{args.flows}"
    results: dict[str, dict[str, float]] = {}
    for fmt in args.formats.split(","):
        name, writer = WRITERS[fmt]
        path = d / name
        if not path.exists():
            t0 = time.perf_counter()
            writer(f, path)
            print(f"wrote {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in "
                  f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        runs, zeek_runs = [], []
        for _ in range(args.repeat):  # alternate with Zeek: a shared machine's load drifts
            runs.append(time_reader(fmt, path))
            if fmt != "zeek" and "zeek" in results:
                zeek_runs.append(time_reader("zeek", d / WRITERS["zeek"][0]))
        r = min(runs, key=lambda x: x["seconds"])
        if zeek_runs:
            z = min(zeek_runs, key=lambda x: x["seconds"])
            r["ratio_to_adjacent_zeek"] = (r["seconds"] / max(r["flows"], 1)) / (
                z["seconds"] / z["flows"])
            zc = min(zeek_runs, key=lambda x: x["cpu_seconds"])
            r["cpu_ratio_to_adjacent_zeek"] = (
                min(x["cpu_seconds"] for x in runs) / max(r["flows"], 1)) / (
                zc["cpu_seconds"] / zc["flows"])
        # what the reader read: a line per one-way record (stitched two to a flow), a packet
        r["input_records"] = r.get("packets") or r["flows"] + r.get("stitched", 0)
        r["mb"] = path.stat().st_size / 1e6
        r["peak_rss_mib"] = peak_rss_mib(fmt, path, kept)
        results[fmt] = r
        per = r["seconds"] / max(r["flows"], 1) * 1e6
        extra = ""
        if fmt in ("pcap", "tshark"):
            extra = f", {r.get('packets', 0) / r['seconds']:,.0f} packets/s"
        print(f"{fmt:10s} {r['flows']:>11,.0f} flows {r['seconds']:7.2f} s "
              f"{r['flows'] / r['seconds']:>11,.0f} flows/s {per:6.2f} us/flow{extra}, "
              f"peak RSS {r['peak_rss_mib']:,.0f} MiB"
              + (f", {r['ratio_to_adjacent_zeek']:.2f} x Zeek (run alongside; CPU "
                 f"{r['cpu_ratio_to_adjacent_zeek']:.2f} x)"
                 if "ratio_to_adjacent_zeek" in r else ""), flush=True)
    if "zeek" in results:
        zeek_per_flow = results["zeek"]["seconds"] / results["zeek"]["flows"]
        for r in results.values():
            r["ratio_to_zeek"] = (r["seconds"] / max(r["flows"], 1)) / zeek_per_flow
        print("time per flow / Zeek's: " + ", ".join(
            f"{k} {v['ratio_to_zeek']:.2f}" for k, v in results.items()))
        for r in results.values():
            r["record_ratio_to_zeek"] = (r["seconds"] / max(r["input_records"], 1)) / (
                zeek_per_flow)
        print("time per input record (line or packet) / Zeek's: " + ", ".join(
            f"{k} {v['record_ratio_to_zeek']:.2f} ({v['input_records'] / max(v['flows'], 1):.1f}"
            " per flow)" for k, v in results.items()))
    OUT.mkdir(exist_ok=True)
    info = {"flows": args.flows, "machine": platform.machine(), "cpus": os.cpu_count(),
            "malloc_keeps_freed_memory": kept,
            "load_avg_1min": round(os.getloadavg()[0], 2), "results": results}
    (OUT / "readers.json").write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
