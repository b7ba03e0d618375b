"""Passive DNS from the generated dns.log resolves the hosts of the matching conn.log; name
tables; Zeek escapes."""

from __future__ import annotations

import csv
import dataclasses
import gzip
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from graphflow.errors import InputFormatError
from graphflow.hosts import EnrichSettings, build_hosts, read_hosts
from graphflow.synth.network import HOSTILE_NAMES
from graphflow.workspace import Workspace
from ingest.enrich.dns import read_zeek_dns, reverse_name_to_ip, unescape_zeek
from ingest.enrich.names import read_names_csv
from tests.enrich.conftest import CONFIG, write_generated_dns


def _names(generated: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with open(generated / "names.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["ip"], set()).add(row["name"])
    return out


def test_passive_dns_resolves_the_hosts_of_the_conn_log(generated: Path,
                                                         gen_ws: Workspace) -> None:
    report = build_hosts(gen_ws, EnrichSettings(dns_logs=(str(generated / "dns.log"),),
                                                default_city_db=False))
    truth = _names(generated)
    hosts = read_hosts(gen_ws).to_pylist()
    named = [h for h in hosts if h["ip"] in truth]
    assert len(named) > 500
    for h in named:
        assert truth[h["ip"]] <= set(h["dns"] or []), h["ip"]
    # no address gets a name it never had
    for h in hosts:
        if h["ip"] not in truth:
            assert h["dns"] is None, h
    assert report.with_dns == len(named)
    hostile = {n for h in named for n in h["dns"]} & set(HOSTILE_NAMES)
    in_flows = {n for h in named for n in truth[h["ip"]]} & set(HOSTILE_NAMES)
    assert hostile == in_flows and hostile


def test_dns_log_json_and_gzip_give_the_same_mappings(generated: Path, tmp_path: Path) -> None:
    tsv = read_zeek_dns(generated / "dns.log")
    out = tmp_path / "json"
    out.mkdir()
    write_generated_dns(dataclasses.replace(CONFIG, fmt="json"), out)
    js = read_zeek_dns(out / "dns.log")
    gz = tmp_path / "dns.log.gz"
    gz.write_bytes(gzip.compress((generated / "dns.log").read_bytes()))
    small = read_zeek_dns(gz, block_bytes=4096)  # many blocks: the same result

    def key(t: pa.Table) -> list[Any]:
        return sorted(zip(t["ip"].to_pylist(), t["name"].to_pylist(),
                          t["first_seen"].to_pylist(), t["last_seen"].to_pylist(),
                          t["count"].to_pylist(), strict=True))

    assert key(tsv) == key(js) == key(small)
    assert tsv.num_rows > 1000


def test_ptr_and_cname_answers(tmp_path: Path) -> None:
    log = tmp_path / "dns.log"
    log.write_text(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        "#path\tdns\n#fields\tts\tquery\tqtype_name\tanswers\n"
        "#types\ttime\tstring\tstring\tvector[string]\n"
        "1772409600.0\t7.2.0.192.in-addr.arpa\tPTR\thost7.example.\n"
        "1772409700.0\twww.shop.example\tA\tcdn.edge\\x2cnet.example,192.0.2.8,2001:db8::8\n"
        "1772409800.0\twww.shop.example\tA\t192.0.2.8\n"
        "1772409900.0\tnx.example\tA\t-\n"
        "#close\t2026-03-03-00-00-00\n")
    t = read_zeek_dns(log)
    rows = sorted((r["ip"], r["name"], r["count"]) for r in t.to_pylist())
    assert rows == [("192.0.2.7", "host7.example", 1), ("192.0.2.8", "cdn.edge,net.example", 1),
                    ("192.0.2.8", "www.shop.example", 2),
                    ("2001:db8::8", "cdn.edge,net.example", 1),
                    ("2001:db8::8", "www.shop.example", 1)]


def test_not_a_dns_log(tmp_path: Path) -> None:
    p = tmp_path / "x.log"
    p.write_text("hello\n")
    with pytest.raises(InputFormatError, match="not a Zeek dns.log"):
        read_zeek_dns(p)
    p.write_text("#separator \\x09\n#fields\tts\tuid\n1\tC\n")
    with pytest.raises(InputFormatError, match="no #fields line naming query"):
        read_zeek_dns(p)


def test_helpers() -> None:
    assert unescape_zeek(r"\xe6\x97\xa5.example") == "日.example"
    assert reverse_name_to_ip("8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                              ".ip6.arpa") == "2001:db8::8"
    assert reverse_name_to_ip("1.2.3.in-addr.arpa") is None


def test_names_csv_hostile_and_errors(generated: Path, tmp_path: Path) -> None:
    t = read_names_csv(generated / "names.csv")
    assert set(HOSTILE_NAMES) <= set(t["name"].to_pylist())
    bad = tmp_path / "n.csv"
    bad.write_text("name,ip\nok.example,10.0.0.1\n\nx.example,10.0.0.999\n")
    with pytest.raises(InputFormatError, match=r"n.csv:4: ip: '10.0.0.999' is not an IP"):
        read_names_csv(bad)
    bad.write_text("address,host\n")
    with pytest.raises(InputFormatError, match=r"n.csv:1: header must name the columns ip"):
        read_names_csv(bad)


def test_generated_dns_log_is_deterministic(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        write_generated_dns(CONFIG, tmp_path / d)
    assert (tmp_path / "a" / "dns.log").read_bytes() == (tmp_path / "b" / "dns.log").read_bytes()
