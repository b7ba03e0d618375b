"""The synthetic generator: file formats, determinism, and a self-check of the ground truth.

The self-check recomputes the key figures from the written conn.log with pandas, with its
own code, and compares them with ground_truth.json: planted positives over their thresholds,
near-misses just under, and no background host over any threshold unless a lookalike
explains it.
"""

from __future__ import annotations

import csv
import gzip
import ipaddress
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphflow.config import Thresholds
from graphflow.generate import GeneratorConfig, GroundTruth, generate, load_ground_truth
from graphflow.synth.network import HOSTILE_NAMES
from graphflow.synth.zeek import FIELDS, TYPES

SMALL = {"flows_per_day": 2000, "days": 14}
AUDITED = ("fanout_scanners", "vertical_scans", "syn_only_scans", "low_and_slow",
           "coordinated_scanners", "ingress_peaks")


# ----- reading what was written ---------------------------------------------------------------

def read_tsv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t", comment="#", header=None, names=list(FIELDS),
                     dtype=str, keep_default_na=False, compression="infer")
    return df


def read_json(path: Path) -> pd.DataFrame:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return pd.DataFrame(rows)


def numeric(raw: pd.DataFrame) -> pd.DataFrame:
    """The TSV strings as typed columns ('-' -> NaN)."""
    df = pd.DataFrame({
        "ts": raw["ts"].astype(float), "src": raw["id.orig_h"], "dst": raw["id.resp_h"],
        "sport": raw["id.orig_p"].astype(int), "dport": raw["id.resp_p"].astype(int),
        "proto": raw["proto"], "service": raw["service"], "state": raw["conn_state"],
        "history": raw["history"],
    })
    for col in ("duration", "orig_bytes", "resp_bytes", "orig_pkts", "orig_ip_bytes",
                "resp_pkts", "resp_ip_bytes"):
        df[col] = pd.to_numeric(raw[col].replace("-", np.nan))
    df["day"] = (df["ts"] // 86400).astype(int)
    return df


class Net:
    """Own-network membership, roles and ranges from assets.json."""

    def __init__(self, out: Path) -> None:
        self.assets = json.loads((out / "assets.json").read_text())
        self.nets = [ipaddress.ip_network(n) for n in self.assets["own_networks"]]
        self.ranges = [ipaddress.ip_network(r) for r in
                       self.assets["dhcp_ranges"] + self.assets["static_ranges"]]
        self.dhcp = [ipaddress.ip_network(r) for r in self.assets["dhcp_ranges"]]
        self.roles = {a["ip"]: a["role"] for a in self.assets["assets"]}
        self.bogons = [ipaddress.ip_network(n) for n in self.assets["non_routable"]]
        lines = (out / "whitelist.txt").read_text().splitlines()
        self.whitelist = [ipaddress.ip_network(x.strip()) for x in lines
                          if x.strip() and not x.startswith("#")]

    def own(self, ip: str) -> bool:
        a = ipaddress.ip_address(ip)
        return any(a in n for n in self.nets)

    def role(self, ip: str) -> str:
        if ip in self.roles:
            return str(self.roles[ip])
        a = ipaddress.ip_address(ip)
        if any(a in n for n in self.dhcp):
            return "workstation"
        return "external" if not self.own(ip) else "unknown"

    def whitelisted(self, ip: str) -> bool:
        a = ipaddress.ip_address(ip)
        return any(a.version == n.version and a in n for n in self.whitelist)


def prefix(ip: str) -> str:
    return str(ipaddress.ip_network(f"{ip}/{64 if ':' in ip else 24}", strict=False))


# ----- recomputing the figures ----------------------------------------------------------------

class Figures:
    """The detectors' raw measures, recomputed from the flows with pandas."""

    def __init__(self, df: pd.DataFrame, net: Net, t: Thresholds) -> None:
        ips = pd.unique(pd.concat([df["src"], df["dst"]]))
        own = {ip: net.own(ip) for ip in ips}
        df = df.assign(src_own=df["src"].map(own), dst_own=df["dst"].map(own),
                       failed=df["state"].isin(["S0", "REJ"]))
        self.df, self.t, self.net = df, t, net
        g = df.groupby(["src", "day"])
        self.per_day = pd.DataFrame({"peers": g["dst"].nunique(), "failed": g["failed"].sum(),
                                     "flows": g.size()})
        ported = df[df["proto"] != "icmp"]
        self.ports = ported.groupby(["src", "dst", "day"])["dport"].nunique()
        to_own = df[df["dst_own"]]
        self.own_hosts = to_own.groupby("src")["dst"].nunique()
        self.days_active = df.groupby("src")["day"].nunique()
        low = df["failed"] | (((df["orig_pkts"] + df["resp_pkts"]) <= t.scanner_max_pkts)
                              & ((df["orig_ip_bytes"] + df["resp_ip_bytes"])
                                 <= t.scanner_max_bytes))
        self.low = df[low & df["dst_own"]][["src", "dst"]].drop_duplicates()
        out = df[df["src_own"] & ~df["dst_own"]].groupby(["src", "day"])["resp_ip_bytes"].sum()
        inn = df[~df["src_own"] & df["dst_own"]].groupby(["dst", "day"])["orig_ip_bytes"].sum()
        out.index.names = inn.index.names = ["host", "day"]
        self.ingress = out.add(inn, fill_value=0)

    def days_of(self, ip: str) -> pd.DataFrame:
        """Per-day peers, failed and flows of source ``ip``."""
        return self.per_day[self.per_day.index.get_level_values(0) == ip]

    def max_peers(self, ip: str) -> int:
        return int(self.days_of(ip)["peers"].max())

    def max_failed(self, ip: str) -> int:
        return int(self.days_of(ip)["failed"].max())

    def max_ports(self, ip: str) -> int:
        s = self.ports[self.ports.index.get_level_values(0) == ip]
        return int(s.max()) if len(s) else 0

    def syn_days(self, ip: str) -> pd.DataFrame:
        p = self.days_of(ip)
        t = self.t
        return p[(p["failed"] >= t.syn_only_min_flows)
                 & (p["failed"] >= t.syn_only_min_ratio * p["flows"])]

    def ingress_top2(self, ip: str) -> tuple[float, float]:
        s = self.ingress[self.ingress.index.get_level_values(0) == ip]
        v = sorted(s.tolist(), reverse=True) + [0.0, 0.0]
        return v[0], v[1]

    def crossings(self) -> set[tuple[str, str]]:
        t, out = self.t, set()
        peers = self.per_day["peers"].groupby(level=0).max()
        out |= {("fanout_scanners", s) for s in peers[peers >= t.fanout_min_peers].index}
        ports = self.ports.groupby(level=0).max()
        out |= {("vertical_scans", s) for s in ports[ports >= t.vertical_min_ports].index}
        p = self.per_day
        syn = p[(p["failed"] >= t.syn_only_min_flows)
                & (p["failed"] >= t.syn_only_min_ratio * p["flows"])]
        out |= {("syn_only_scans", s) for s in syn.index.get_level_values(0)}
        las = pd.DataFrame({"days": self.days_active, "hosts": self.own_hosts,
                            "peers": peers}).fillna(0)
        las = las[(las["days"] >= t.low_and_slow_min_days)
                  & (las["hosts"] >= t.low_and_slow_min_hosts)
                  & (las["peers"] < t.fanout_min_peers)]
        out |= {("low_and_slow", s) for s in las.index}
        for host in pd.unique(self.ingress.index.get_level_values(0)):
            top, second = self.ingress_top2(str(host))
            if self.net.own(str(host)) and top >= t.ingress_peak_min_bytes and \
                    top > t.ingress_peak_factor * second:
                out.add(("ingress_peaks", str(host)))
        singles = {s for _, s in out if _ != "low_and_slow"}
        low = self.low[~self.low["src"].isin(singles)
                       & ~self.low["src"].map(self.net.whitelisted)]
        low = low.assign(group=low["src"].map(prefix))
        grp = low.groupby("group").agg(members=("src", "nunique"), hosts=("dst", "nunique"))
        grp = grp[(grp["members"] >= t.coordinated_min_members)
                  & (grp["hosts"] >= t.coordinated_min_hosts)]
        out |= {("coordinated_scanners", g) for g in grp.index}
        return out

    def group(self, members: list[str]) -> tuple[int, int]:
        low = self.low[self.low["src"].isin(members)]
        return int(low["src"].nunique()), int(low["dst"].nunique())


# ----- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=[42, 7])
def dataset(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, GroundTruth, pd.DataFrame]:
    out = tmp_path_factory.mktemp(f"gen{request.param}")
    calls: list[int] = []
    truth = generate(GeneratorConfig(seed=request.param, **SMALL),  # type: ignore[arg-type]
                     out, progress=calls.append)
    assert calls and calls[-1] == truth.flows and calls == sorted(calls)
    return out, truth, read_tsv(out / "conn.log")


# ----- files and formats ----------------------------------------------------------------------

def test_header_and_rows_well_formed(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, truth, raw = dataset
    lines = (out / "conn.log").read_text(encoding="utf-8").splitlines()
    assert lines[:5] == ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
                         "#unset_field\t-", "#path\tconn"]
    assert re.fullmatch(r"#open\t2026-03-02-00-00-00", lines[5])
    assert lines[6].split("\t")[1:] == list(FIELDS) and lines[6].startswith("#fields\t")
    assert lines[7].split("\t")[1:] == list(TYPES) and len(FIELDS) == 21
    assert lines[-1] == "#close\t2026-03-16-00-00-00"
    body = lines[8:-1]
    assert len(body) == truth.flows == len(raw)
    assert all(line.count("\t") == 20 for line in body)
    assert raw["uid"].str.fullmatch(r"C[0-9A-Za-z]{17}").all() and raw["uid"].is_unique
    assert (raw["tunnel_parents"] == "(empty)").all() and (raw["missed_bytes"] == "0").all()
    assert raw["local_orig"].isin(["T", "F"]).all()


def test_flows_are_zeek_consistent(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    _, _, raw = dataset
    df = numeric(raw)
    assert df["ts"].is_monotonic_increasing
    state, hist = df["state"], df["history"]
    s0 = state == "S0"
    assert (df.loc[s0 & (df.proto == "tcp"), "history"] == "S").all()
    assert (df.loc[s0, "resp_pkts"] == 0).all() and (df.loc[s0, "resp_ip_bytes"] == 0).all()
    assert (hist[state == "REJ"] == "Sr").all()
    sf = state == "SF"
    assert hist[sf & (df.proto == "tcp")].str.match(r"^ShAD").all()
    assert (hist[sf & (df.proto == "udp")] == "Dd").all()
    icmp = df.proto == "icmp"
    assert ((df.sport[icmp] == 8) & (df.dport[icmp] == 0) & (state[icmp] == "OTH")).all()
    # Unset payload/duration only for single-packet connections.
    single = (df.orig_pkts + df.resp_pkts) == 1
    assert df.loc[~single, ["duration", "orig_bytes", "resp_bytes"]].notna().all().all()
    assert df.loc[single, "duration"].isna().all()
    # IP bytes = payload + 20..60 bytes of headers per packet (where the payload is set).
    for side in ("orig", "resp"):
        pay = df[f"{side}_bytes"]
        hdr = (df[f"{side}_ip_bytes"] - pay)[pay.notna()]
        pk = df.loc[pay.notna(), f"{side}_pkts"]
        assert (hdr >= 20 * pk).all() and (hdr <= 60 * pk).all(), side
        assert (df[f"{side}_ip_bytes"] >= 20 * df[f"{side}_pkts"]).all(), side
    assert set(df["proto"]) == {"tcp", "udp", "icmp"}
    assert {"http", "ssl", "dns", "ntp", "smtp", "ssh"} <= set(df["service"])
    assert {"SF", "S0", "REJ", "RSTO", "RSTR", "S1", "OTH"} <= set(state)


def test_ipv6_present(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, _, raw = dataset
    own6 = ipaddress.ip_network(json.loads((out / "assets.json").read_text())["own_networks"][2])
    v6 = raw[raw["id.orig_h"].str.contains(":")]
    assert len(v6) > 50
    assert any(ipaddress.ip_address(ip) in own6 for ip in v6["id.orig_h"])
    assert any(ipaddress.ip_address(ip) in own6 for ip in v6["id.resp_h"])


def test_names_csv(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, truth, _ = dataset
    with open(out / "names.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["ip", "name"] and all(len(r) == 2 for r in rows)
    names = dict(rows[1:])
    assert set(HOSTILE_NAMES) <= set(names.values())
    assert any(set(n) & set('"<>,') for n in names.values())
    assert any(not n.isascii() for n in names.values())
    battery = truth.positives_for("coordinated_scanners")[0]
    domains = {names[m].split(".", 1)[1] for m in battery.members}
    assert domains == {"scan-provider.example"}
    assert names[json.loads((out / "assets.json").read_text())["hvas"][0]].endswith(
        ".corp.example")


def test_side_files(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, truth, _ = dataset
    net = Net(out)
    assert any(n.version == 6 and n.prefixlen == 64 for n in net.nets)
    assert net.dhcp and net.ranges
    roles = {a["role"]: a for a in net.assets["assets"]}
    assert {"web", "mail", "dns_resolver", "ntp", "database", "file", "proxy",
            "domain_controller"} <= set(roles)
    assert net.assets["policies"]["database"]["inbound"] == {"tcp/5432": ["app"]}
    assert set(net.assets["policies"]["proxy"]["outbound"]) == {"tcp/80", "tcp/443"}
    hvas = [a["ip"] for a in net.assets["assets"] if a["criticality"] == "high"]
    assert hvas == net.assets["hvas"] and len(hvas) >= 3
    scanner = [x for x in truth.lookalikes if x.kind == "vulnerability_scanner"][0]
    assert net.whitelisted(scanner.entity)
    assert load_ground_truth(out / "ground_truth.json") == truth


def test_deterministic(tmp_path: Path) -> None:
    cfg = GeneratorConfig(seed=3, days=8, flows_per_day=800)
    generate(cfg, tmp_path / "a")
    generate(cfg, tmp_path / "b")
    for name in ("conn.log", "ground_truth.json", "names.csv", "whitelist.txt", "assets.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    generate(GeneratorConfig(seed=4, days=8, flows_per_day=800), tmp_path / "c")
    assert (tmp_path / "a" / "conn.log").read_bytes() != (tmp_path / "c" / "conn.log").read_bytes()


def test_tsv_and_json_hold_the_same_flows(tmp_path: Path) -> None:
    tsv = generate(GeneratorConfig(seed=5, days=8, flows_per_day=600), tmp_path / "t")
    js = generate(GeneratorConfig(seed=5, days=8, flows_per_day=600, fmt="json"), tmp_path / "j")
    assert tsv.flows == js.flows
    a = read_tsv(tmp_path / "t" / "conn.log")
    b = read_json(tmp_path / "j" / "conn.log")
    assert len(a) == len(b) == tsv.flows
    assert (b["tunnel_parents"].map(len) == 0).all()
    for col in FIELDS:
        if col == "tunnel_parents":
            continue
        if col in ("local_orig", "local_resp"):
            expect = a[col] == "T"
            got = b[col]
        elif col in ("ts", "duration"):
            expect = pd.to_numeric(a[col].replace("-", np.nan))
            got = b[col] if col in b else pd.Series(np.nan, index=b.index)
            assert np.allclose(expect.fillna(-1), got.fillna(-1), rtol=0, atol=5e-7), col
            continue
        elif col in ("service", "history", "orig_bytes", "resp_bytes"):
            expect = a[col].replace("-", np.nan)
            got = b[col].astype("Int64").astype(str).replace({"<NA>": "unset"}) \
                if col.endswith("bytes") else b[col]
        else:
            expect, got = a[col], b[col].astype(str)
        assert expect.fillna("unset").astype(str).tolist() == \
            got.fillna("unset").astype(str).tolist(), col


def test_rotated_directory(tmp_path: Path) -> None:
    cfg = GeneratorConfig(seed=9, days=8, flows_per_day=600, rotate=True)
    truth = generate(cfg, tmp_path)
    files = sorted((tmp_path / "conn").glob("conn.*/conn.*.log.gz"))
    assert len(files) == 8 * 24
    assert files[0].relative_to(tmp_path).as_posix() == \
        "conn/conn.2026-03-02/conn.00:00:00-01:00:00.log.gz"
    assert files[-1].name == "conn.23:00:00-00:00:00.log.gz"
    total = 0
    for f in files:
        text = gzip.decompress(f.read_bytes()).decode()
        lines = text.splitlines()
        assert lines[0] == "#separator \\x09" and lines[-1].startswith("#close\t")
        hour = int(f.name[5:7])
        rows = [ln for ln in lines if not ln.startswith("#")]
        hours = {int(float(r.split("\t", 1)[0]) // 3600 % 24) for r in rows}
        assert hours <= {hour}
        total += len(rows)
    assert total == truth.flows
    again = generate(cfg, tmp_path / "again")
    assert again == truth
    assert files[5].read_bytes() == (tmp_path / "again" / files[5].relative_to(tmp_path)
                                     ).read_bytes()


# ----- the self-check -------------------------------------------------------------------------

def test_self_audit_is_clean(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    _, truth, _ = dataset
    assert truth.audit == {"unplanned_crossings": [], "failed_plants": []}
    planted = {p.analysis for p in truth.positives}
    assert set(AUDITED) | {"scanner_got_in", "hva_neighbourhood", "policy_violations"} <= planted
    assert len(truth.near_misses) >= 9 and len(truth.lookalikes) >= 8


def test_recomputed_figures_match_ground_truth(
        dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, truth, raw = dataset
    t = Thresholds()
    fig = Figures(numeric(raw), Net(out), t)
    crossings = fig.crossings()

    # Planted positives cross their thresholds, with the figures the ground truth states.
    for p in truth.positives:
        f = p.figures
        if p.analysis == "fanout_scanners":
            assert fig.max_peers(p.entity) == f["peers"] >= t.fanout_min_peers
        elif p.analysis == "vertical_scans":
            assert fig.max_ports(p.entity) == f["ports_on_target"] >= t.vertical_min_ports
        elif p.analysis == "syn_only_scans":
            days = fig.syn_days(p.entity)
            assert len(days) and int(days["failed"].max()) == f["failed"]
        elif p.analysis == "low_and_slow":
            assert fig.days_active[p.entity] == f["days_active"] >= t.low_and_slow_min_days
            assert fig.own_hosts[p.entity] == f["own_hosts"] >= t.low_and_slow_min_hosts
            assert fig.max_peers(p.entity) < t.fanout_min_peers
            assert fig.max_failed(p.entity) < t.syn_only_min_flows
        elif p.analysis == "coordinated_scanners":
            members, hosts = fig.group(p.members)
            assert (members, hosts) == (f["members"], f["hosts"])
            assert members >= t.coordinated_min_members and hosts >= t.coordinated_min_hosts
            assert {prefix(m) for m in p.members} == {p.entity}
            for m in p.members:  # each member stays under every per-source threshold
                assert fig.max_peers(m) < t.fanout_min_peers
                assert fig.max_failed(m) < t.syn_only_min_flows
        elif p.analysis == "ingress_peaks":
            top, second = fig.ingress_top2(p.entity)
            assert (top, second) == (f["top"], f["second"])
            assert top >= t.ingress_peak_min_bytes and top > t.ingress_peak_factor * second
            assert f["top_senders"][0]["ip"] in p.members
        elif p.analysis == "scanner_got_in":
            df = fig.df[fig.df["src"] == p.entity]
            target = p.members[0]
            assert target in f["probed_hosts"] and len(f["probed_hosts"]) >= 5
            sess = df[(df["dst"] == target) & (df["state"] == "SF")
                      & (df["orig_bytes"] > 10_000) & (df["resp_bytes"] > 10_000)]
            assert len(sess) == 1 and sess["ts"].min() > df["ts"].min() + 86400
            assert int(sess["resp_ip_bytes"].iloc[0]) == f["session"]["resp_ip_bytes"]
        if p.analysis in AUDITED:
            assert (p.analysis, p.entity) in crossings

    # Near-misses: the same value, just under, and no analysis reports them.
    flagged = {e for _, e in crossings}
    for n in truth.near_misses:
        assert n.value < n.threshold_value and n.margin > 0
        if n.threshold == "fanout_min_peers":
            assert fig.max_peers(n.entity) == n.value == t.fanout_min_peers - 1
        elif n.threshold == "vertical_min_ports":
            assert fig.max_ports(n.entity) == n.value == t.vertical_min_ports - 1
        elif n.threshold == "syn_only_min_flows":
            assert fig.max_failed(n.entity) == n.value
        elif n.threshold == "syn_only_min_ratio":
            d = fig.days_of(n.entity)
            d = d[d["failed"] >= t.syn_only_min_flows]
            assert round(float((d["failed"] / d["flows"]).max()), 4) == n.value
        elif n.threshold == "low_and_slow_min_hosts":
            assert fig.own_hosts[n.entity] == n.value
        elif n.threshold == "low_and_slow_min_days":
            assert fig.days_active[n.entity] == n.value
            assert fig.own_hosts[n.entity] >= t.low_and_slow_min_hosts
        elif n.threshold.startswith("coordinated_"):
            members, hosts = fig.group(n.members)
            assert (members, hosts) == (n.figures["members"], n.figures["hosts"])
        elif n.threshold == "ingress_peak_factor":
            top, second = fig.ingress_top2(n.entity)
            assert round(top / second, 4) == n.value and top >= t.ingress_peak_min_bytes
        assert n.entity not in flagged and not set(n.members) & flagged, n

    # Background: every crossing is a planted positive or explained by a lookalike.
    expected = {(p.analysis, p.entity) for p in truth.positives}
    expected |= {(m, x.entity) for x in truth.lookalikes for m in x.mimics}
    assert crossings <= expected, crossings - expected


def _merge(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
    return {k: a.get(k, []) + b.get(k, []) for k in set(a) | set(b)}


def _allowed(rules: dict[str, list[str]], port: str, peer_role: str, peer_own: bool) -> bool:
    for key in (port, "*"):
        for sel in rules.get(key, []):
            if sel == "any" or sel == peer_role or (sel == "internal" and peer_own) or \
                    (sel == "external" and not peer_own):
                return True
    return False


def test_policies_hold_except_planted(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, truth, raw = dataset
    net = Net(out)
    df = numeric(raw)
    est = df[(df["resp_pkts"] > 0) & (df["orig_bytes"] > 0) & (df["resp_bytes"] > 0)]
    pol, dflt = net.assets["policies"], net.assets["defaults"]
    pairs = est[["src", "dst", "proto", "dport"]].drop_duplicates()
    violators = set()
    for src, dst, proto, dport in pairs.itertuples(index=False):
        port = "icmp" if proto == "icmp" else f"{proto}/{dport}"
        rs, rd = net.role(src), net.role(dst)
        os_, od = net.own(src), net.own(dst)
        ok = True
        if os_ and rs in pol:
            ok &= _allowed(_merge(pol[rs]["outbound"], dflt["outbound"]), port, rd, od)
        if od and rd in pol:
            ok &= _allowed(_merge(pol[rd]["inbound"], dflt["inbound"]), port, rs, os_)
        if not ok:
            violators.add(src)
    ips = pd.unique(pd.concat([df["src"], df["dst"]]))
    bogon_talkers = set(df[df["dst"].isin([ip for ip in ips if not net.own(ip) and any(
        ipaddress.ip_address(ip) in b for b in net.bogons if b.version == 4 and ":" not in ip
    )])]["src"])
    outside = {ip for ip in ips if net.own(ip) and not any(
        ipaddress.ip_address(ip) in r for r in net.ranges if r.version ==
        ipaddress.ip_address(ip).version)}
    planted = {p.entity for p in truth.positives_for("policy_violations")}
    assert violators | bogon_talkers | outside == planted
    assert len(violators) == 2 and len(bogon_talkers) == 1 and len(outside) == 1


def test_hva_neighbourhood(dataset: tuple[Path, GroundTruth, pd.DataFrame]) -> None:
    out, truth, raw = dataset
    net = Net(out)
    df = numeric(raw)
    hvas = set(net.assets["hvas"])
    df = df[df["src"].isin(hvas) | df["dst"].isin(hvas)]
    df = df.assign(hva=np.where(df["src"].isin(hvas), df["src"], df["dst"]),
                   peer=np.where(df["src"].isin(hvas), df["dst"], df["src"]))
    df = df[~df["peer"].map(net.own)]
    day0 = int(pd.Timestamp(truth.start, tz="UTC").timestamp() // 86400)
    first = df.groupby(["hva", "peer"])["day"].min() - day0
    new = first[first >= 7]
    (p,) = truth.positives_for("hva_neighbourhood")
    assert set(new.index.get_level_values(0)) == {p.entity}
    assert set(new.index.get_level_values(1)) == set(p.members)
    assert set(p.figures["external_peers"][p.entity]["new_in_week2"]) == set(p.members)
