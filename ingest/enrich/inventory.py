"""The inventory file format: YAML (or its JSON form) and CSV asset lists, validated.

Every problem is collected with the line and the field it concerns, compiler style::

    inventory.yaml:14: assets[2].criticality: 'critical' is not one of low, medium, high

The YAML is read with PyYAML's composer, which keeps each node's line, so JSON files (such as
the generator's ``assets.json``) get line numbers too. The format is described in
``docs/assets.md``.

Examples
--------
>>> inv = inventory_from_text('''
... own_networks: [10.10.0.0/16]
... assets:
...   - {ip: 10.10.11.50, name: db01, role: database, criticality: high}
... ''', "inv.yaml")
>>> [str(n) for n in inv.hvas.cidrs()]
['10.10.11.50/32']
>>> bad = '''
... own_networks: [10.10.0.0/16]
... assets:
...   - {ip: 10.10.11.50, criticality: top, rôle: db}
... '''
>>> try:
...     inventory_from_text(bad, "inv.yaml")
... except InventoryError as exc:
...     for p in exc.problems:
...         print(p)
inv.yaml:4: assets[0]: unknown key 'rôle' (did you mean 'role'?)
inv.yaml:4: assets[0].criticality: 'top' is not one of low, medium, high (see criticality_levels)
"""

from __future__ import annotations

import csv
import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from graphflow.assets import (
    DEFAULT_CRITICALITY_LEVELS,
    DEFAULT_OWN_NETWORKS,
    PEER_KEYWORDS,
    AddressRange,
    Asset,
    CountryRule,
    DirectionPolicy,
    Inventory,
    Peer,
    Policy,
    PortSpec,
    Rule,
)
from graphflow.errors import InputFormatError
from graphflow.ipsets import BUILTIN_SETS, IPSet, Network, parse_network, read_cidr_file

__all__ = ["InventoryError", "Problem", "inventory_from_doc", "inventory_from_text",
           "read_inventory"]

_TOP = {
    "format": "format marker (graphflow-inventory)", "version": "format version (1)",
    "source": "free text", "description": "free text", "policy_semantics": "free text",
    "criticality_levels": "ordered levels, the last marks a high-value asset",
    "own_networks": "own CIDRs", "ranges": "DHCP/static ranges",
    "dhcp_ranges": "DHCP ranges (CIDRs)", "static_ranges": "static ranges (CIDRs)",
    "assets": "named assets", "asset_files": "CSV asset lists", "hvas": "extra HVAs",
    "whitelist": "sanctioned scanners and infrastructure",
    "whitelist_files": "plain whitelist files", "known_scanners": "known scanners",
    "sets": "named IP sets", "non_routable": "non-routable CIDRs", "defaults": "default policy",
    "policies": "policies per role",
}
_ASSET_KEYS = ("ip", "cidr", "name", "role", "owner", "criticality", "policy", "description",
               "tags")
_RANGE_KEYS = ("cidr", "kind", "role", "description")
_POLICY_KEYS = ("inbound", "outbound", "countries", "description")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: " \
            f"{self.message}"


class InventoryError(InputFormatError):
    """An inventory with problems; ``problems`` lists every one (line and field)."""

    def __init__(self, problems: list[Problem]) -> None:
        # in file order: the inventory first, then included files, each by line
        order = {p.path: i for i, p in reversed(list(enumerate(problems)))}
        problems = sorted(problems, key=lambda p: (order[p.path], p.line or 0))
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more problem(s): run 'graphflow assets check')" \
            if len(problems) > 1 else ""
        reason = f"{first.field}: {first.message}" if first.field else first.message
        super().__init__(first.path, first.line, reason + more)


# ---- located YAML nodes ----------------------------------------------------------------------
@dataclass
class _N:
    """A YAML node: its Python value (scalars), children, and line (1-based)."""

    kind: str  # map, seq, scalar
    line: int
    value: Any = None
    items: list[tuple[_N, _N]] | None = None  # map: (key node, value node)
    elems: list[_N] | None = None
    src: str | None = None  # the file, when not the inventory itself (CSV asset lists)


_CONSTRUCT = yaml.constructor.SafeConstructor()


def _convert(node: yaml.Node) -> _N:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return _N("map", line, items=[(_convert(k), _convert(v)) for k, v in node.value])
    if isinstance(node, yaml.SequenceNode):
        return _N("seq", line, elems=[_convert(v) for v in node.value])
    assert isinstance(node, yaml.ScalarNode)
    return _N("scalar", line, value=_CONSTRUCT.construct_object(node, deep=True))


def _from_python(value: Any, line: int = 0) -> _N:
    if isinstance(value, Mapping):
        return _N("map", line, items=[(_N("scalar", line, value=k), _from_python(v, line))
                                      for k, v in value.items()])
    if isinstance(value, list | tuple):
        return _N("seq", line, elems=[_from_python(v, line) for v in value])
    return _N("scalar", line, value=value)


class _Checker:
    """Walks the document, building the inventory and collecting problems."""

    def __init__(self, path: str, base: Path | None) -> None:
        self.path = path
        self.base = base
        self.problems: list[Problem] = []

    def err(self, node: _N | None, fld: str, msg: str) -> None:
        path = node.src if node is not None and node.src else self.path
        self.problems.append(Problem(path, node.line if node and node.line else None,
                                     fld, msg))

    # ---- generic shapes --------------------------------------------------------------------
    def mapping(self, node: _N, fld: str, allowed: Mapping[str, Any] | tuple[str, ...] | None
                ) -> dict[str, _N]:
        if node.kind != "map":
            self.err(node, fld, f"expected a mapping, got {self._what(node)}")
            return {}
        out: dict[str, _N] = {}
        for k, v in node.items or []:
            key = k.value if k.kind == "scalar" else None
            if not isinstance(key, str):
                self.err(k, fld, f"keys must be text, got {key!r}")
                continue
            if key in out:
                self.err(k, fld, f"duplicate key {key!r} (first at line {out[key].line})")
                continue
            if allowed is not None and key not in allowed:
                close = difflib.get_close_matches(key, list(allowed), 1)
                hint = f"did you mean {close[0]!r}?" if close else \
                    f"expected one of {', '.join(allowed)}"
                self.err(k, fld, f"unknown key {key!r} ({hint})")
                continue
            out[key] = v
        return out

    def seq(self, node: _N, fld: str) -> list[_N]:
        if node.kind == "scalar" and node.value is None:
            return []
        if node.kind != "seq":
            self.err(node, fld, f"expected a list, got {self._what(node)}")
            return []
        return node.elems or []

    def text(self, node: _N | None, fld: str, *, required: bool = False) -> str | None:
        if node is None or (node.kind == "scalar" and node.value is None):
            if required:
                self.err(node, fld, "required")
            return None
        if node.kind != "scalar" or isinstance(node.value, bool | dict | list):
            self.err(node, fld, f"expected text, got {self._what(node)}")
            return None
        return str(node.value)

    def network(self, node: _N | None, fld: str) -> Network | None:
        t = self.text(node, fld, required=True)
        if t is None:
            return None
        try:
            return parse_network(t)
        except ValueError as exc:
            self.err(node, fld, str(exc))
            return None

    def networks(self, node: _N | None, fld: str) -> list[tuple[Network, _N]]:
        if node is None:
            return []
        out = []
        for i, e in enumerate(self.seq(node, fld)):
            n = self.network(e, f"{fld}[{i}]")
            if n is not None:
                out.append((n, e))
        return out

    @staticmethod
    def _what(node: _N) -> str:
        if node.kind == "scalar":
            return "nothing" if node.value is None else f"{type(node.value).__name__} " \
                f"{node.value!r}"
        return "a mapping" if node.kind == "map" else "a list"

    def file_path(self, node: _N, fld: str) -> Path | None:
        t = self.text(node, fld, required=True)
        if t is None:
            return None
        p = Path(t).expanduser()
        if not p.is_absolute() and self.base is not None:
            p = self.base / p
        if not p.is_file():
            self.err(node, fld, f"no such file: {p}")
            return None
        return p


# ---- the document ------------------------------------------------------------------------------
def _check_doc(root: _N, path: str, base: Path | None) -> tuple[Inventory | None,
                                                                  list[Problem]]:
    c = _Checker(path, base)
    top = c.mapping(root, "", _TOP) if not (root.kind == "scalar" and root.value is None) \
        else {}
    if root.kind == "scalar" and root.value is None:
        c.err(root, "", "empty inventory")
    fmt = top.get("format")
    if fmt is not None and c.text(fmt, "format") != "graphflow-inventory":
        c.err(fmt, "format", "expected 'graphflow-inventory'")
    ver = top.get("version")
    if ver is not None and (ver.kind != "scalar" or ver.value != 1):
        c.err(ver, "version", "only version 1 is known")

    levels = DEFAULT_CRITICALITY_LEVELS
    if "criticality_levels" in top:
        lv = [c.text(e, f"criticality_levels[{i}]", required=True)
              for i, e in enumerate(c.seq(top["criticality_levels"], "criticality_levels"))]
        clean = tuple(x for x in lv if x)
        if not clean:
            c.err(top["criticality_levels"], "criticality_levels", "at least one level")
        elif len(set(clean)) != len(clean):
            c.err(top["criticality_levels"], "criticality_levels", "levels must be distinct")
        else:
            levels = clean

    own = [n for n, _ in c.networks(top.get("own_networks"), "own_networks")]
    if "own_networks" not in top:
        c.err(root, "own_networks", "required: the CIDRs of your own networks (IPv4 and IPv6)")
    own_set = IPSet(own)

    def inside_own(net: Network, node: _N, fld: str) -> None:
        if own and (IPSet([net]) - own_set):
            c.err(node, fld, f"{net} is not inside any own network (own_networks)")

    # ranges
    ranges: dict[Network, AddressRange] = {}
    range_line: dict[Network, int] = {}

    def add_range(net: Network, kind: str, role: str | None, node: _N, fld: str) -> None:
        inside_own(net, node, fld)
        prev = ranges.get(net)
        if prev is not None:
            if prev.kind != kind or (role and prev.role and role != prev.role):
                c.err(node, fld, f"{net} is already declared at line {range_line[net]} as "
                      f"{prev.kind} (role {prev.role})")
            elif role and not prev.role:
                ranges[net] = AddressRange(net, kind, role, prev.line)
            return
        ranges[net] = AddressRange(net, kind, role, node.line)
        range_line[net] = node.line

    for i, e in enumerate(c.seq(top["ranges"], "ranges") if "ranges" in top else []):
        fld = f"ranges[{i}]"
        m = c.mapping(e, fld, _RANGE_KEYS)
        if not m:
            continue
        net = c.network(m.get("cidr"), f"{fld}.cidr") if "cidr" in m else None
        if "cidr" not in m:
            c.err(e, f"{fld}.cidr", "required")
        kind = c.text(m.get("kind"), f"{fld}.kind", required=True)
        if kind is not None and kind not in ("dhcp", "static"):
            c.err(m.get("kind"), f"{fld}.kind", f"{kind!r} is not one of dhcp, static")
            kind = None
        role = c.text(m.get("role"), f"{fld}.role")
        if net is not None and kind is not None:
            add_range(net, kind, role, e, fld)
    for key, kind in (("dhcp_ranges", "dhcp"), ("static_ranges", "static")):
        for i, (net, node) in enumerate(c.networks(top.get(key), key)):
            add_range(net, kind, None, node, f"{key}[{i}]")

    # assets (policies are attached once roles are known)
    raw_assets: list[tuple[dict[str, _N], _N, str]] = []
    for i, e in enumerate(c.seq(top["assets"], "assets") if "assets" in top else []):
        m = c.mapping(e, f"assets[{i}]", _ASSET_KEYS)
        if m or e.kind == "map":
            raw_assets.append((m, e, f"assets[{i}]"))
    for i, fnode in enumerate(c.seq(top["asset_files"], "asset_files")
                              if "asset_files" in top else []):
        p = c.file_path(fnode, f"asset_files[{i}]")
        if p is not None:
            rows, problems = _csv_assets(p)
            c.problems += problems
            raw_assets += rows

    roles = {r.role for r in ranges.values() if r.role}
    policies_node = c.mapping(top["policies"], "policies", None) if "policies" in top else {}
    roles |= set(policies_node)
    for m, _e, _fld in raw_assets:
        role_node = m.get("role")
        if role_node is not None and isinstance(role_node.value, str) and role_node.value:
            roles.add(role_node.value)

    # named sets of the inventory
    sets: dict[str, IPSet] = {}
    for name, node in (c.mapping(top["sets"], "sets", None) if "sets" in top else {}).items():
        if not _NAME_RE.match(name) or name in BUILTIN_SETS or name.startswith("role:"):
            c.err(node, f"sets.{name}", "set names are letters, digits and _ . : - and not a "
                  "built-in name (own, hva, whitelist, known-scanners, role:...)")
            continue
        sets[name] = IPSet(n for n, _ in c.networks(node, f"sets.{name}"))
    asset_names: dict[str, int] = {}
    for m, e, _fld in raw_assets:
        nm = m.get("name")
        if nm is not None and nm.kind == "scalar" and isinstance(nm.value, str):
            asset_names.setdefault(nm.value, e.line)

    pc = _PolicyChecker(c, roles, set(sets) | set(BUILTIN_SETS), set(asset_names))
    role_policies: dict[str, Policy] = {}
    for role, node in policies_node.items():
        pol = pc.policy(node, f"policies.{role}", f"role:{role}")
        if pol is not None:
            role_policies[role] = pol
    defaults = pc.policy(top["defaults"], "defaults", "defaults") if "defaults" in top else None

    assets: list[Asset] = []
    seen: dict[Network, str] = {}
    hva_level = levels[-1]
    for m, e, fld in raw_assets:
        if "ip" in m and "cidr" in m:
            c.err(e, fld, "give either ip or cidr, not both")
            continue
        if "ip" not in m and "cidr" not in m:
            c.err(e, _sub(fld, "ip"), "required (or cidr)")
            continue
        key = "ip" if "ip" in m else "cidr"
        net = c.network(m[key], _sub(fld, key))
        if net is None:
            continue
        if key == "ip" and net.num_addresses != 1:
            c.err(m[key], _sub(fld, "ip"), f"{net} is a network: use cidr")
            continue
        inside_own(net, m[key], _sub(fld, key))
        if net in seen:
            first = seen[net]
            c.err(m[key], _sub(fld, key), f"{net} is already listed at {first}")
            continue
        seen[net] = f"{m[key].src}:{m[key].line}" if m[key].src else f"line {m[key].line}"
        vals = {k: c.text(m.get(k), _sub(fld, k)) if k in m else None
                for k in ("name", "role", "owner", "criticality")}
        crit = vals["criticality"]
        if crit is not None and crit not in levels:
            c.err(m["criticality"], _sub(fld, "criticality"),
                  f"{crit!r} is not one of {', '.join(levels)}"
                  + ("" if "criticality_levels" in top else " (see criticality_levels)"))
            crit = None
        pol = pc.policy(m["policy"], _sub(fld, "policy"),
                        f"asset:{vals['name'] or net}") if "policy" in m else None
        assets.append(Asset(net, vals["name"], vals["role"], vals["owner"], crit,
                            crit == hva_level, pol, m[key].line))

    hvas = c.networks(top.get("hvas"), "hvas")
    for net, node in hvas:
        inside_own(net, node, "hvas")
    whitelist = _entries(c, top.get("whitelist"), "whitelist")
    for i, fnode in enumerate(c.seq(top["whitelist_files"], "whitelist_files")
                              if "whitelist_files" in top else []):
        p = c.file_path(fnode, f"whitelist_files[{i}]")
        if p is not None:
            try:
                _, entries = read_cidr_file(p)
                whitelist += [(parse_network(x), cm) for x, cm in entries]
            except InputFormatError as exc:
                c.problems.append(Problem(exc.path, exc.line, "", exc.reason))
    scanners = _entries(c, top.get("known_scanners"), "known_scanners")
    non_routable = ([n for n, _ in c.networks(top["non_routable"], "non_routable")]
                    if "non_routable" in top else None)
    src = c.text(top.get("source"), "source") if "source" in top else None
    if c.problems:
        return None, c.problems
    inv = Inventory(
        own_cidrs=tuple(own), ranges=tuple(ranges.values()), assets=tuple(assets),
        criticality_levels=levels, hva_cidrs=tuple(n for n, _ in hvas),
        whitelist=tuple(whitelist), known_scanners=tuple(n for n, _ in scanners), sets=sets,
        non_routable_cidrs=tuple(non_routable) if non_routable is not None else None,
        defaults=defaults, role_policies=role_policies, source=src or path)
    return inv, []


def _sub(fld: str, key: str) -> str:
    return f"{fld}.{key}" if fld else key


def _entries(c: _Checker, node: _N | None, fld: str) -> list[tuple[Network, str]]:
    """A list of CIDRs, each a string or ``{cidr, comment}``."""
    if node is None:
        return []
    out = []
    for i, e in enumerate(c.seq(node, fld)):
        if e.kind == "map":
            m = c.mapping(e, f"{fld}[{i}]", ("cidr", "ip", "comment"))
            key = "cidr" if "cidr" in m else "ip"
            if key not in m:
                c.err(e, f"{fld}[{i}].cidr", "required")
                continue
            n = c.network(m[key], f"{fld}[{i}].{key}")
            comment = c.text(m.get("comment"), f"{fld}[{i}].comment") or ""
        else:
            n = c.network(e, f"{fld}[{i}]")
            comment = ""
        if n is not None:
            out.append((n, comment))
    return out


class _PolicyChecker:
    def __init__(self, c: _Checker, roles: set[str], sets: set[str], assets: set[str]) -> None:
        self.c = c
        self.roles = roles
        self.sets = sets
        self.assets = assets

    def peer(self, node: _N, fld: str) -> Peer | None:
        t = self.c.text(node, fld, required=True)
        if t is None:
            return None
        t = t.strip()
        if t in PEER_KEYWORDS:
            return Peer("keyword", t)
        kind, sep, value = t.partition(":")
        if sep and kind in ("role", "set", "asset"):
            known = {"role": self.roles, "set": self.sets, "asset": self.assets}[kind]
            if value not in known:
                close = difflib.get_close_matches(value, sorted(known), 1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.c.err(node, fld, f"unknown {kind} {value!r}{hint}")
                return None
            return Peer(kind, value)
        try:
            return Peer("cidr", str(parse_network(t)))
        except ValueError:
            pass
        if t in self.roles:
            return Peer("role", t)
        close = difflib.get_close_matches(t, sorted(self.roles | set(PEER_KEYWORDS)), 1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.c.err(node, fld, f"unknown role or keyword {t!r}{hint}: use any, internal, "
                   "external, a role, role:NAME, set:NAME, asset:NAME or a CIDR")
        return None

    def direction(self, node: _N, fld: str) -> tuple[Rule, ...]:
        rules = []
        for port, peers in self.c.mapping(node, fld, None).items():
            try:
                spec = PortSpec.parse(port)
            except ValueError as exc:
                self.c.err(peers, f"{fld}.{port}", str(exc))
                continue
            pnodes = [peers] if peers.kind == "scalar" and peers.value is not None else \
                self.c.seq(peers, f"{fld}.{port}")
            if not pnodes:
                self.c.err(peers, f"{fld}.{port}", "list the peers allowed (or [any])")
            ps = [self.peer(p, f"{fld}.{port}[{i}]") for i, p in enumerate(pnodes)]
            rules.append(Rule(spec, tuple(p for p in ps if p is not None)))
        return tuple(rules)

    def countries(self, node: _N, fld: str) -> CountryRule:
        m = self.c.mapping(node, fld, ("allow", "deny"))
        codes: dict[str, frozenset[str]] = {}
        for k, v in m.items():
            vals = []
            for i, e in enumerate(self.c.seq(v, f"{fld}.{k}")):
                t = self.c.text(e, f"{fld}.{k}[{i}]", required=True)
                if t is not None and not _COUNTRY_RE.match(t):
                    self.c.err(e, f"{fld}.{k}[{i}]", f"{t!r} is not an ISO 3166-1 alpha-2 "
                               "code (two capital letters, e.g. DE)")
                elif t is not None:
                    vals.append(t)
            codes[k] = frozenset(vals)
        return CountryRule(codes.get("allow"), codes.get("deny", frozenset()))

    def policy(self, node: _N, fld: str, subject: str) -> Policy | None:
        m = self.c.mapping(node, fld, _POLICY_KEYS)
        if node.kind != "map":
            return None
        dirs: dict[str, DirectionPolicy] = {}
        cm = self.c.mapping(m["countries"], f"{fld}.countries", ("inbound", "outbound")) \
            if "countries" in m else {}
        for d in ("inbound", "outbound"):
            rules = self.direction(m[d], f"{fld}.{d}") if d in m else None
            ctry = self.countries(cm[d], f"{fld}.countries.{d}") if d in cm else None
            dirs[d] = DirectionPolicy(rules, ctry)
        return Policy(subject, dirs["inbound"], dirs["outbound"])


# ---- CSV asset lists ----------------------------------------------------------------------------
def _csv_assets(path: Path) -> tuple[list[tuple[dict[str, _N], _N, str]], list[Problem]]:
    """Rows of a CSV asset list as mapping nodes (header: ip or cidr, name, role, owner,
    criticality; other columns ignored)."""
    p = str(path)
    rows: list[tuple[dict[str, _N], _N, str]] = []
    problems: list[Problem] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return [], [Problem(p, 1, "", "empty file: expected a header (ip,name,role,"
                                    "owner,criticality)")]
            cols = [h.strip().lower() for h in header]
            if "ip" not in cols and "cidr" not in cols:
                return [], [Problem(p, 1, "header", "must name an ip or cidr column")]
            use = [(i, h) for i, h in enumerate(cols) if h in ("ip", "cidr", "name", "role",
                                                                "owner", "criticality")]
            for row in reader:
                no = reader.line_num
                if not row or all(not x.strip() for x in row):
                    continue
                m: dict[str, _N] = {}
                for i, h in use:
                    v = row[i].strip() if i < len(row) else ""
                    if v:
                        m[h] = _N("scalar", no, value=v, src=p)
                if "ip" in m and "cidr" in m:
                    del m["cidr" if "/" not in m["cidr"].value else "ip"]
                rows.append((m, _N("map", no, src=p), ""))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append(Problem(p, None, "", f"cannot read: {exc}"))
    return rows, problems


# ---- entry points -------------------------------------------------------------------------------
def inventory_from_text(text: str, path: str = "<text>", base: Path | None = None) -> Inventory:
    """Parse and validate inventory text (YAML or JSON)."""
    try:
        node = yaml.compose(text, Loader=yaml.CSafeLoader if hasattr(yaml, "CSafeLoader")
                            else yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise InventoryError([Problem(path, mark.line + 1 if mark else None, "",
                                      f"not valid YAML/JSON: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise InventoryError([Problem(path, None, "", f"not valid YAML/JSON: {exc}")]) from None
    root = _convert(node) if node is not None else _N("scalar", 1, value=None)
    inv, problems = _check_doc(root, path, base)
    if problems or inv is None:
        raise InventoryError(problems)
    return inv


def inventory_from_doc(doc: Mapping[str, Any], source: str = "<document>") -> Inventory:
    """Validate an already-parsed document (e.g. the normalised copy in a workspace)."""
    inv, problems = _check_doc(_from_python(dict(doc)), source, None)
    if problems or inv is None:
        raise InventoryError(problems)
    return inv


def _csv_inventory(path: Path) -> Inventory:
    """A bare CSV asset list: own networks are private space plus the listed assets."""
    rows, problems = _csv_assets(path)
    if problems:
        raise InventoryError(problems)
    nets = set(DEFAULT_OWN_NETWORKS)
    for m, _e, _f in rows:
        for k in ("ip", "cidr"):
            if k in m:
                try:
                    nets.add(str(parse_network(m[k].value)))
                except ValueError:
                    pass
    own = [str(n) for n in IPSet(parse_network(n) for n in nets).cidrs()]
    doc = _N("map", 1, items=[
        (_N("scalar", 1, value="own_networks"), _from_python(own, 1)),
        (_N("scalar", 1, value="asset_files"), _from_python([str(path)], 1))])
    inv, problems = _check_doc(doc, str(path), None)
    if problems or inv is None:
        raise InventoryError(problems)
    return inv


def read_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read an inventory file: YAML, JSON (same model), or a CSV asset list."""
    p = Path(path)
    if not p.is_file():
        raise InventoryError([Problem(str(p), None, "", "no such file")])
    if p.suffix.lower() == ".csv":
        return _csv_inventory(p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError([Problem(str(p), None, "", f"cannot read: {exc}")]) from None
    return inventory_from_text(text, str(p), p.parent)
