"""Address classes from the IANA special-purpose registries."""

from __future__ import annotations

import ipaddress

import pytest

from graphflow.addrclass import CLASSES, REGISTRY, address_class, classify, non_routable

CASES = [
    ("8.8.8.8", "public"), ("10.1.2.3", "private"), ("172.31.255.255", "private"),
    ("172.32.0.1", "public"), ("192.168.0.1", "private"), ("100.64.0.1", "shared"),
    ("100.128.0.1", "public"), ("127.0.0.1", "loopback"), ("169.254.1.1", "link-local"),
    ("224.0.0.251", "multicast"), ("239.255.255.250", "multicast"),
    ("255.255.255.255", "broadcast"), ("0.0.0.0", "unspecified"), ("0.1.2.3", "bogon"),
    ("192.0.2.1", "documentation"), ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"), ("198.18.5.5", "benchmark"), ("240.0.0.1", "bogon"),
    ("192.0.0.8", "bogon"), ("192.0.0.9", "public"), ("192.88.99.1", "bogon"),
    ("192.31.196.1", "public"),
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"),
    ("ff02::1", "multicast"), ("fd12:3456::1", "private"), ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"), ("2001:4860:4860::8888", "public"),
    ("2001:2::1", "benchmark"), ("2001:4:112::1", "public"), ("2001:5::1", "bogon"),
    ("100::1", "bogon"), ("::ffff:10.0.0.1", "ipv4-mapped"), ("4000::1", "bogon"),
    ("2002:c000:0204::1", "public"), ("64:ff9b::8.8.8.8", "public"),
]


@pytest.mark.parametrize(("ip", "cls"), CASES)
def test_address_class(ip: str, cls: str) -> None:
    assert address_class(ip) == cls


def test_vectorised_equals_scalar_and_invalid_is_null() -> None:
    ips = [ip for ip, _ in CASES] + ["not-an-ip", "1.2.3"]
    assert classify(ips).to_pylist() == [c for _, c in CASES] + [None, None]


def test_registry_is_well_formed() -> None:
    for b in REGISTRY:
        assert b.cls in CLASSES
        assert b.network == ipaddress.ip_network(b.cidr)
    assert len({b.cidr for b in REGISTRY}) == len(REGISTRY)


def test_non_routable_set_agrees_with_classes() -> None:
    nr = non_routable()
    for ip, cls in CASES:
        assert (ip in nr) == (cls != "public"), ip
