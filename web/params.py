"""Request parameters: parsed, validated and typed before anything reaches the library.

Every parser raises :class:`web.errors.ApiError` (400) naming the parameter, so a bad value
never turns into a 500. List parameters may be repeated (``?port=22&port=80``) or
comma-separated where commas cannot occur in a value (ports, protocols).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import TypeVar

from werkzeug.datastructures import MultiDict

from web.errors import ApiError

__all__ = [
    "Args",
    "parse_cidr_or_ip",
    "parse_ip",
]

T = TypeVar("T")

_PROTO_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,15}$")
MAX_VALUE_LEN = 512
MAX_LIST = 200


def parse_ip(value: str, param: str = "ip") -> str:
    """A normalised IP address, or a 400.

    >>> parse_ip("2001:DB8::1")
    '2001:db8::1'
    """
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ApiError(f"{param} {value!r}: not an IP address", param=param) from None


def parse_cidr_or_ip(value: str, param: str = "host") -> str:
    """An IP address or a CIDR (host bits allowed), normalised, or a 400.

    >>> parse_cidr_or_ip("10.0.0.7/24"), parse_cidr_or_ip("10.0.0.7")
    ('10.0.0.0/24', '10.0.0.7')
    """
    text = value.strip()
    try:
        if "/" in text:
            return str(ipaddress.ip_network(text, strict=False))
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ApiError(f"{param} {value!r}: not an IP address or CIDR", param=param) from None


class Args:
    """Typed access to a request's query string (or a JSON body's fields)."""

    def __init__(self, args: MultiDict[str, str] | Mapping[str, object]) -> None:
        if isinstance(args, MultiDict):
            self._args: MultiDict[str, str] = args
        else:
            md: MultiDict[str, str] = MultiDict()
            for k, v in args.items():
                if isinstance(v, list | tuple):
                    for item in v:
                        md.add(k, str(item))
                elif v is not None:
                    md.add(k, str(v))
            self._args = md

    def _raw(self, name: str) -> str | None:
        value = self._args.get(name)
        if value is None or value.strip() == "":
            return None
        if len(value) > MAX_VALUE_LEN:
            raise ApiError(f"{name}: value longer than {MAX_VALUE_LEN} characters", param=name)
        return value.strip()

    def _list(self, name: str, split: bool) -> list[str]:
        out: list[str] = []
        for value in self._args.getlist(name):
            if len(value) > MAX_VALUE_LEN:
                raise ApiError(f"{name}: value longer than {MAX_VALUE_LEN} characters",
                               param=name)
            parts = value.split(",") if split else [value]
            out += [p.strip() for p in parts if p.strip()]
        if len(out) > MAX_LIST:
            raise ApiError(f"{name}: at most {MAX_LIST} values", param=name)
        return out

    def has(self, name: str) -> bool:
        return self._raw(name) is not None

    def text(self, name: str, default: str | None = None, *, max_len: int = 256) -> str | None:
        value = self._raw(name)
        if value is None:
            return default
        if len(value) > max_len:
            raise ApiError(f"{name}: longer than {max_len} characters", param=name)
        return value

    def choice(self, name: str, choices: Iterable[str], default: str) -> str:
        allowed = tuple(choices)
        value = self._raw(name)
        if value is None:
            return default
        if value not in allowed:
            raise ApiError(f"{name} {value!r}: expected one of {', '.join(allowed)}",
                           param=name)
        return value

    def integer(self, name: str, default: int, *, lo: int = 0, hi: int = 2**62) -> int:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ApiError(f"{name} {value!r}: expected an integer", param=name) from None
        if not lo <= number <= hi:
            raise ApiError(f"{name} {number}: expected {lo} to {hi}", param=name)
        return number

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ApiError(f"{name} {value!r}: expected true or false", param=name)

    def date(self, name: str) -> dt.date | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value[:10]) if len(value) >= 10 else (
                dt.date.fromisoformat(value))
        except ValueError:
            raise ApiError(f"{name} {value!r}: expected a date like 2026-03-02",
                           param=name) from None

    def ports(self, name: str = "port") -> list[int]:
        out = []
        for v in self._list(name, split=True):
            try:
                port = int(v)
            except ValueError:
                raise ApiError(f"{name} {v!r}: expected an integer 0-65535",
                               param=name) from None
            if not 0 <= port <= 65535:
                raise ApiError(f"{name} {port}: expected an integer 0-65535", param=name)
            out.append(port)
        return sorted(set(out))

    def protos(self, name: str = "proto") -> list[str]:
        out = []
        for v in self._list(name, split=True):
            if not _PROTO_RE.match(v.lower()):
                raise ApiError(f"{name} {v!r}: not a protocol name", param=name)
            out.append(v.lower())
        return sorted(set(out))

    def hosts(self, name: str = "host") -> list[str]:
        return [parse_cidr_or_ip(v, name) for v in self._list(name, split=True)]

    def ips(self, name: str) -> list[str]:
        return [parse_ip(v, name) for v in self._list(name, split=True)]

    def strings(self, name: str, *, max_len: int = 256) -> list[str]:
        out = self._list(name, split=False)
        for v in out:
            if len(v) > max_len:
                raise ApiError(f"{name}: value longer than {max_len} characters", param=name)
        return out

    def names(self) -> list[str]:
        return list(self._args.keys())
