"""Shared fixtures: small Zeek files written on the fly, a workspace per test, the datasets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not DATASETS.exists():  # CI clones next to shared/
    DATASETS = Path(os.environ.get("GRAPHFLOW_DATASETS", "../shared/datasets")).resolve()

ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
               "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig",
               "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
               "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
ZEEK_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval",
              "count", "count", "string", "bool", "bool", "count", "string", "count", "count",
              "count", "count", "set[string]"]

#: Five hand-checkable flows (dicts keyed by Zeek field names).
FLOWS = [
    {"ts": "1772438400.000001", "uid": "CAAAAAAAAAAAAAAAA1", "id.orig_h": "10.10.1.5",
     "id.orig_p": "50001", "id.resp_h": "10.10.0.10", "id.resp_p": "22", "proto": "tcp",
     "service": "ssh", "duration": "1.500000", "orig_bytes": "1000", "resp_bytes": "2000",
     "conn_state": "SF", "local_orig": "T", "local_resp": "T", "missed_bytes": "0",
     "history": "ShADadFf", "orig_pkts": "10", "orig_ip_bytes": "1520", "resp_pkts": "12",
     "resp_ip_bytes": "2624", "tunnel_parents": "(empty)"},
    {"ts": "1772438460.250000", "uid": "CAAAAAAAAAAAAAAAA2", "id.orig_h": "203.0.113.7",
     "id.orig_p": "40000", "id.resp_h": "10.10.0.10", "id.resp_p": "23", "proto": "tcp",
     "service": "-", "duration": "-", "orig_bytes": "-", "resp_bytes": "-",
     "conn_state": "S0", "local_orig": "F", "local_resp": "T", "missed_bytes": "0",
     "history": "S", "orig_pkts": "1", "orig_ip_bytes": "44", "resp_pkts": "0",
     "resp_ip_bytes": "0", "tunnel_parents": "(empty)"},
    {"ts": "1772438470.000000", "uid": "CAAAAAAAAAAAAAAAA3", "id.orig_h": "203.0.113.7",
     "id.orig_p": "40001", "id.resp_h": "10.10.0.11", "id.resp_p": "23", "proto": "tcp",
     "service": "-", "duration": "0.000100", "orig_bytes": "0", "resp_bytes": "0",
     "conn_state": "REJ", "local_orig": "F", "local_resp": "T", "missed_bytes": "0",
     "history": "Sr", "orig_pkts": "1", "orig_ip_bytes": "44", "resp_pkts": "1",
     "resp_ip_bytes": "40", "tunnel_parents": "(empty)"},
    {"ts": "1772524800.500000", "uid": "CAAAAAAAAAAAAAAAA4", "id.orig_h": "2001:db8::5",
     "id.orig_p": "53000", "id.resp_h": "2001:db8::53", "id.resp_p": "53", "proto": "udp",
     "service": "dns", "duration": "0.010000", "orig_bytes": "40", "resp_bytes": "120",
     "conn_state": "SF", "local_orig": "T", "local_resp": "T", "missed_bytes": "0",
     "history": "Dd", "orig_pkts": "1", "orig_ip_bytes": "88", "resp_pkts": "1",
     "resp_ip_bytes": "168", "tunnel_parents": "(empty)"},
    {"ts": "1772524900.000000", "uid": "CAAAAAAAAAAAAAAAA5", "id.orig_h": "10.10.1.5",
     "id.orig_p": "8", "id.resp_h": "10.10.0.1", "id.resp_p": "0", "proto": "icmp",
     "service": "-", "duration": "0.001000", "orig_bytes": "56", "resp_bytes": "56",
     "conn_state": "OTH", "local_orig": "T", "local_resp": "T", "missed_bytes": "0",
     "history": "-", "orig_pkts": "1", "orig_ip_bytes": "84", "resp_pkts": "1",
     "resp_ip_bytes": "84", "tunnel_parents": "(empty)"},
]


def zeek_tsv(rows: list[dict[str, str]], fields: list[str] | None = None,
             close: bool = True) -> str:
    fields = fields or ZEEK_FIELDS
    types = [ZEEK_TYPES[ZEEK_FIELDS.index(f)] if f in ZEEK_FIELDS else "string" for f in fields]
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)",
            "#unset_field\t-", "#path\tconn", "#open\t2026-03-02-00-00-00",
            "#fields\t" + "\t".join(fields), "#types\t" + "\t".join(types)]
    body = ["\t".join(r.get(f, "-") for f in fields) for r in rows]
    tail = ["#close\t2026-03-03-00-00-00"] if close else []
    return "\n".join(head + body + tail) + "\n"


def zeek_json(rows: list[dict[str, str]]) -> str:
    out = []
    for r in rows:
        obj: dict[str, object] = {}
        for k, v in r.items():
            if v in ("-", "(empty)") or k in ("tunnel_parents",):
                continue
            if k in ("ts", "duration"):
                obj[k] = float(v)
            elif k in ("id.orig_p", "id.resp_p", "orig_bytes", "resp_bytes", "missed_bytes",
                       "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"):
                obj[k] = int(v)
            elif k in ("local_orig", "local_resp"):
                obj[k] = v == "T"
            else:
                obj[k] = v
        out.append(json.dumps(obj))
    return "\n".join(out) + "\n"


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def conn_log(tmp_path: Path) -> Path:
    p = tmp_path / "conn.log"
    p.write_text(zeek_tsv(FLOWS))
    return p
