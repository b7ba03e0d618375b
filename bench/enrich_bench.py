"""Enrichment benchmark: GeoIP + ASN + address class for 1M distinct addresses.

Writes (once, kept in bench/out/) a file of distinct addresses, 90% IPv4 and 10% IPv6, then,
each in a fresh subprocess so that peak memory is measured per run:

* ``graphflow``: parse the addresses, :func:`enrich_geoip`, :func:`enrich_asn` and
  :func:`classify` over all of them (vectorised tree walk, one decode per distinct record);
* ``maxminddb``: the reference, the plain loop ``city.get(ip); asn.get(ip)`` of the
  ``maxminddb`` C extension over the same addresses (or the first ``--reference-size`` of them:
  its rate does not depend on the count).

The city database is the GeoLite2 City of ``maxminddb-geolite2`` (56 MB, 3.6M networks) when
installed, else the test database; the ASN database is the test one in ../shared/geoip (the
only ASN database available offline). Prints addresses/s and peak RSS for both, and their
ratio; results go to bench/out/enrich.json. Target: at least 100k addresses/s.

    python bench/enrich_bench.py --size 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parents[1]
GEOIP = ROOT.parent / "shared" / "geoip"

OURS = """
import sys, json, time
import pyarrow as pa
from graphflow.addrclass import classify
from graphflow.ipsets import parse_addrs
from ingest.enrich.geoip import MaxMindDB, enrich_asn, enrich_geoip
ips = pa.array(open(sys.argv[1]).read().split(), pa.string())
t0 = time.perf_counter()
addrs = parse_addrs(ips)
with MaxMindDB(sys.argv[2], "city") as city, MaxMindDB(sys.argv[3], "asn") as asn:
    geo = enrich_geoip(city, addrs)
    num = enrich_asn(asn, addrs)
    cls = classify(addrs)
    decoded = city.decoded + asn.decoded
seconds = time.perf_counter() - t0
print(json.dumps({"addresses": len(ips), "seconds": seconds, "decoded": decoded,
                  "with_country": len(ips) - geo["country"].null_count,
                  "with_asn": len(ips) - num["asn"].null_count,
                  "public": cls.to_pylist().count("public")}))
"""

REFERENCE = """
import sys, json, time
import maxminddb
ips = open(sys.argv[1]).read().split()[: int(sys.argv[4])]
city = maxminddb.open_database(sys.argv[2], maxminddb.MODE_MMAP_EXT)
asn = maxminddb.open_database(sys.argv[3], maxminddb.MODE_MMAP_EXT)
t0 = time.perf_counter()
found = 0
for ip in ips:
    c = city.get(ip)
    a = asn.get(ip)
    found += c is not None
seconds = time.perf_counter() - t0
print(json.dumps({"addresses": len(ips), "seconds": seconds, "with_country": found}))
"""


def run_measured(code: str, *args: str) -> tuple[float, float, dict[str, float]]:
    """Run ``code`` in a fresh interpreter; return (wall seconds, peak RSS MiB, its JSON)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("benchmark subprocess failed")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, json.loads(out)


def ensure_addresses(size: int) -> Path:
    import ipaddress

    import numpy as np

    path = OUT / f"enrich-addrs-{size}.txt"
    if path.exists():
        return path
    rng = np.random.default_rng(11)
    n4 = size * 9 // 10
    v4 = np.unique(rng.integers(1 << 24, 224 << 24, int(n4 * 1.01), dtype=np.uint64))
    v4 = rng.permutation(v4)[:n4]
    lines = [f"{a >> 24}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}" for a in v4.tolist()]
    seen: set[int] = set()
    while len(seen) < size - n4:
        hi = 0x2000 | int(rng.integers(0, 0x1000))
        seen.add(hi << 112 | int(rng.integers(0, 1 << 62)) << 50 | int(rng.integers(0, 1 << 50)))
    lines += [str(ipaddress.IPv6Address(v)) for v in sorted(seen)]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--reference-size", type=int, default=200_000,
                    help="addresses for the reference loop (its rate is per address)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    from ingest.enrich.geoip import default_city_db

    city = default_city_db() or GEOIP / "GeoLite2-City-Test.mmdb"
    asn = GEOIP / "GeoLite2-ASN-Test.mmdb"
    addrs = ensure_addresses(args.size)
    ours_wall, ours_mb, ours = run_measured(OURS, str(addrs), str(city), str(asn))
    ref_n = min(args.reference_size, args.size)
    ref_wall, ref_mb, ref = run_measured(REFERENCE, str(addrs), str(city), str(asn), str(ref_n))
    ours_rate = ours["addresses"] / ours["seconds"]
    ref_rate = ref["addresses"] / ref["seconds"]
    row = {
        "addresses": ours["addresses"], "city_db": str(city), "asn_db": str(asn),
        "graphflow_s": round(ours["seconds"], 2), "graphflow_addresses_per_s": round(ours_rate),
        "graphflow_peak_rss_mb": round(ours_mb), "records_decoded": ours["decoded"],
        "with_country": ours["with_country"], "with_asn": ours["with_asn"],
        "reference_addresses": ref["addresses"], "reference_s": round(ref["seconds"], 2),
        "reference_addresses_per_s": round(ref_rate), "reference_peak_rss_mb": round(ref_mb),
        "ratio": round(ours_rate / ref_rate, 2), "target_met": ours_rate >= 100_000,
    }
    print(f"{row['addresses']:,} distinct addresses | graphflow geo+asn+class "
          f"{ours['seconds']:.2f} s {ours_rate:>10,.0f} addresses/s {ours_mb:6.0f} MiB | "
          f"maxminddb loop geo+asn ({ref['addresses']:,}) {ref_rate:>10,.0f} addresses/s "
          f"{ref_mb:6.0f} MiB | ratio {row['ratio']:.2f} | target 100k/s "
          f"{'met' if row['target_met'] else 'NOT met'}", flush=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    (OUT / "enrich.json").write_text(json.dumps({"machine": machine, "results": [row]},
                                                indent=1))


if __name__ == "__main__":
    main()
