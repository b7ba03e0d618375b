"""IP sets: CIDR algebra equals ipaddress.collapse_addresses (property test), membership,
files, named sets in the workspace."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from graphflow.cli import main
from graphflow.errors import GraphFlowError, InputFormatError
from graphflow.ipsets import IPSet, PrefixMap, load_set, parse_addrs, parse_network, read_cidr_file
from graphflow.workspace import Workspace

Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _net4(value: int, plen: int) -> Net:
    return ipaddress.IPv4Network((value >> (32 - plen) << (32 - plen), plen))


def _net6(value: int, plen: int) -> Net:
    return ipaddress.IPv6Network((value >> (128 - plen) << (128 - plen), plen))


def _nets(version: int) -> st.SearchStrategy[Net]:
    """Random CIDRs from /8 to host routes (IPv6 values clustered so that they overlap)."""
    if version == 4:
        # a few /8s only, so that random networks nest and touch often enough
        first = st.sampled_from([10, 11, 192, 203])
        return st.builds(lambda a, low, p: _net4(a << 24 | low, p), first,
                         st.integers(0, 2**24 - 1), st.integers(8, 32))
    prefix = st.sampled_from([0x2001_0db8 << 96, 0x2001_0db8_0001 << 80, 0xFC00 << 112])
    return st.builds(lambda base, low, p: _net6(base | low, p), prefix,
                     st.integers(0, 2**80 - 1), st.integers(8, 128))


cidr_lists = st.one_of(st.lists(_nets(4), max_size=12), st.lists(_nets(6), max_size=12),
                       st.lists(st.one_of(_nets(4), _nets(6)), max_size=12))


def _collapse(nets: list[Net]) -> list[Net]:
    v4 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 4))
    v6 = list(ipaddress.collapse_addresses(n for n in nets if n.version == 6))
    return [*v4, *v6]


def _ref_intersection(a: list[Net], b: list[Net]) -> list[Net]:
    # CIDRs either nest or are disjoint: the intersection of two is the smaller one
    out = []
    for x in _collapse(a):
        for y in _collapse(b):
            if x.version == y.version and x.overlaps(y):
                out.append(x if x.prefixlen >= y.prefixlen else y)
    return _collapse(out)


def _ref_difference(a: list[Net], b: list[Net]) -> list[Net]:
    pieces = _collapse(a)
    for y in _collapse(b):
        nxt: list[Net] = []
        for x in pieces:
            if x.version != y.version or not x.overlaps(y):
                nxt.append(x)
            elif y.prefixlen > x.prefixlen:
                nxt.extend(x.address_exclude(y))  # type: ignore[arg-type]  # same family
            # else y covers x entirely: drop it
        pieces = nxt
    return _collapse(pieces)


@settings(max_examples=300, deadline=None)
@given(cidr_lists, cidr_lists)
def test_set_algebra_equals_collapse_addresses(a: list[Net], b: list[Net]) -> None:
    sa, sb = IPSet(a), IPSet(b)
    assert sa.cidrs() == _collapse(a)
    assert (sa | sb).cidrs() == _collapse(a + b)
    assert (sa & sb).cidrs() == _ref_intersection(a, b)
    assert (sa - sb).cidrs() == _ref_difference(a, b)
    assert ((sa - sb) | (sa & sb)) == sa


def test_large_blocks_are_never_expanded() -> None:
    everything = IPSet(["0.0.0.0/0", "::/0"])
    hole = everything - IPSet(["10.0.0.1", "2001:db8::1"])
    assert hole.num_addresses(4) == 2**32 - 1
    assert len(hole.cidrs(4)) == 32 and len(hole.cidrs(6)) == 128
    assert "10.0.0.1" not in hole and "10.0.0.2" in hole and "2001:db8::2" in hole


def test_membership_vectorised_matches_scalar() -> None:
    s = IPSet(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/48", "fc00::/7"])
    ips = ["10.1.2.3", "11.0.0.0", "192.168.1.255", "192.168.2.0", "2001:db8::1",
           "2001:db8:1::", "fd00::1", "not-an-ip", "9.255.255.255"]
    assert s.contains(ips).tolist() == [ip in s for ip in ips]
    assert s.contains(ips).tolist() == [True, False, True, False, True, False, True, False,
                                        False]


def test_prefix_map_longest_match() -> None:
    m = PrefixMap([(parse_network("10.0.0.0/8"), "eight"), (parse_network("10.1.0.0/16"), "16"),
                   (parse_network("10.1.2.3"), "host"), (parse_network("2001:db8::/32"), "v6")])
    got = m.lookup(parse_addrs(["10.1.2.3", "10.1.2.4", "10.2.0.0", "2001:db8::5", "::1"]))
    assert [m.values[i] if i >= 0 else None for i in got] == ["host", "16", "eight", "v6", None]


def test_parse_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="host bits set"):
        parse_network("10.0.0.1/8")
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        parse_network("10.0.0.300")


def test_cidr_file_errors_name_the_line(tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text("# scanners\n10.0.0.1  # first\n\n192.0.2.0/24\nbogus\n")
    with pytest.raises(InputFormatError, match=r"list.txt:5: 'bogus': not an IP"):
        read_cidr_file(f)
    f.write_text("# the scanner\n10.0.0.1\n192.0.2.0/24  # docs\n")
    s, entries = read_cidr_file(f)
    assert entries == [("10.0.0.1/32", "the scanner"), ("192.0.2.0/24", "docs")]
    assert s.summary() == {"cidrs": 2, "ipv4_addresses": 257, "ipv6_addresses": 0}


def test_named_sets_cli(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    r = CliRunner()
    w = ["-w", str(ws.root)]
    feed = tmp_path / "feed.txt"
    feed.write_text("203.0.113.0/24\n10.9.9.9\n")
    res = r.invoke(main, ["sets", "define", "scanners", "198.51.100.0/25", "--file", str(feed),
                          *w, "--json"])
    assert res.exit_code == 0, res.output
    res = r.invoke(main, ["sets", "combine", "ext-scanners", "scanners", "-", "own", *w,
                          "--json"])
    assert res.exit_code == 0, res.output
    assert load_set(ws, "ext-scanners").cidrs() == [parse_network("198.51.100.0/25"),
                                                    parse_network("203.0.113.0/24")]
    res = r.invoke(main, ["sets", "list", *w, "--json"])
    names = {d["name"]: d for d in json.loads(res.output)}
    assert {"own", "hva", "whitelist", "known-scanners", "scanners", "ext-scanners"} <= set(
        names)
    assert names["own"]["source"] == "builtin"
    res = r.invoke(main, ["sets", "show", "ext-scanners", *w])
    assert res.output.split() == ["198.51.100.0/25", "203.0.113.0/24"]
    res = r.invoke(main, ["sets", "combine", "x", "scanners", "^", "own", *w])
    assert res.exit_code == 1 and "unknown operator" in res.output
    res = r.invoke(main, ["sets", "define", "own", "10.0.0.0/8", *w])
    assert res.exit_code == 1 and "built-in" in res.output
    res = r.invoke(main, ["sets", "delete", "scanners", *w])
    assert res.exit_code == 0
    with pytest.raises(GraphFlowError, match="no IP set named 'scanners'"):
        load_set(ws, "scanners")
