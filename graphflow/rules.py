"""Declarative styling rules: colour, size, shape, label and cluster of nodes and edges.

One rules file drives every styled view: DOT, GDF, GEXF, GraphML, Cytoscape JSON (so the web
UI) and the ``afterglow`` command, whose AfterGlow ``.properties`` files are translated into
these rules (:mod:`graphflow.afterglow`). The file is YAML and only ever *data*: conditions and
values are a fixed vocabulary, nothing in it is evaluated as code.

.. code-block:: yaml

    version: 1
    sets:                                  # named IP sets (CIDRs or addresses)
      dmz: [10.1.0.0/16, "2001:db8:1::/48"]
    settings: {duplicate_edges: false, max_node_size: 0.2}
    rules:
      - element: node                      # node | source | target | sourcetarget | event | edge
        color: red
        when: {field: hva, equals: true}
      - element: node
        color: {severity: {field: score}, steps: 10}
      - element: source
        color: yellow
        when: {field: id, regex: '^192\\.168\\.'}
      - element: edge
        label: {field: dst_port}

For each element and property the rules are tried in file order and the **first match wins**;
a rule matches when its ``when`` holds and its value is not empty. Conditions:
``equals``/``in``, ``regex``/``not_regex`` (Python ``re``), ``lt le gt ge eq ne`` (numeric),
``cidr`` (IPv4 and IPv6), ``in_set`` (a named set), ``in_finding`` (an analysis result, through
a hook), and ``all``/``any``/``not``. Values: a literal, ``{field: F}``, ``{extract: REGEX}``
(the first group, with ``prefix``/``suffix``), ``{template: "{id} ({role})"}``,
``{severity: {field: F}, steps: N}`` (green to red). ``field`` names a column (``id`` is the
element's own value) or, in AfterGlow input, a column position (``0`` = first).

Evaluation is vectorised over Arrow tables: regular expressions and CIDR tests run once per
distinct value, never once per row.

>>> rs = parse_rules({"rules": [{"element": "node", "color": "red",
...                              "when": {"field": "id", "cidr": "10.0.0.0/8"}},
...                             {"element": "node", "color": "gray"}]})
>>> t = pa.table({"id": ["10.1.2.3", "192.0.2.1", "2001:db8::1"]})
>>> evaluate(rs, "color", t, RuleContext(own="id"), elements=("node",)).to_pylist()
['red', 'gray', 'gray']
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from graphflow.errors import GraphFlowError

__all__ = [
    "ELEMENTS",
    "PROPERTIES",
    "SHAPES",
    "All",
    "Any_",
    "Compare",
    "Condition",
    "Equals",
    "Extract",
    "FieldValue",
    "InFinding",
    "InNetworks",
    "InSet",
    "Literal",
    "Not",
    "Regex",
    "Rule",
    "RuleContext",
    "RuleSet",
    "RulesError",
    "Settings",
    "Severity",
    "Template",
    "Value",
    "evaluate",
    "load_rules",
    "parse_rules",
    "severity_color",
]

ELEMENTS = ("node", "source", "target", "sourcetarget", "event", "edge")
PROPERTIES = ("color", "size", "shape", "label", "cluster")
#: Node shapes accepted (Graphviz names; Gephi and the web UI map them to their nearest).
SHAPES = frozenset(
    "box polygon ellipse oval circle point egg triangle plaintext plain diamond trapezium "
    "parallelogram house pentagon hexagon septagon octagon doublecircle doubleoctagon "
    "tripleoctagon invtriangle invtrapezium invhouse Mdiamond Msquare Mcircle rect rectangle "
    "square star none underline cylinder note tab folder box3d component Mrecord record".split())
_COMPARE_OPS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                "eq": "equal", "ne": "not_equal"}
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
FieldRef = int | str | None


class RulesError(GraphFlowError):
    """A rules (or AfterGlow properties) file cannot be used; the message says where."""


# ---- the model --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Equals:
    field: FieldRef
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class Regex:
    field: FieldRef
    pattern: str
    flags: int = 0
    negate: bool = False


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str
    number: float
    #: "strict": non-numbers never compare; "leading": Perl's rule (leading number, else 0)
    numeric: str = "strict"


@dataclass(frozen=True)
class InNetworks:
    field: FieldRef
    networks: tuple[Net, ...]
    negate: bool = False


@dataclass(frozen=True)
class InSet:
    field: FieldRef
    name: str
    negate: bool = False


@dataclass(frozen=True)
class InFinding:
    field: FieldRef
    finding: str
    negate: bool = False


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Equals | Regex | Compare | InNetworks | InSet | InFinding | All | Any_ | Not


@dataclass(frozen=True)
class Literal:
    value: str | float | bool


@dataclass(frozen=True)
class FieldValue:
    field: FieldRef


@dataclass(frozen=True)
class Extract:
    pattern: str
    field: FieldRef = None
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Template:
    #: alternating literal text and field references
    parts: tuple[str | tuple[FieldRef], ...]


@dataclass(frozen=True)
class Severity:
    field: FieldRef
    steps: int = 10


Value = Literal | FieldValue | Extract | Template | Severity


@dataclass(frozen=True)
class Rule:
    element: str
    prop: str
    value: Value
    when: Condition | None = None
    #: where the rule came from, for messages ("rules.yaml: rules[3]", "x.properties:7")
    origin: str = ""


@dataclass(frozen=True)
class Settings:
    duplicate_edges: bool = False
    max_node_size: float | None = None
    #: node kinds whose sizes add up over rows (AfterGlow sum.*) instead of the last one
    sum_sizes: frozenset[str] = frozenset()
    concentrate: bool = True
    xlabels: bool = True
    url: str | None = None
    #: AfterGlow thresholds: "all" (-o), "source", "event", "target"
    thresholds: Mapping[str, int] = field(default_factory=dict)
    output: str | None = None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)

    def for_prop(self, prop: str) -> list[Rule]:
        return [r for r in self.rules if r.prop == prop]

    def has(self, prop: str, elements: Collection[str]) -> bool:
        return any(r.prop == prop and r.element in elements for r in self.rules)


@dataclass
class RuleContext:
    """What a rule's field references mean for the table being styled.

    ``columns`` maps positional references (AfterGlow's ``$fields[n]``) to column names;
    ``own`` is the column holding the element's own value (``field()``); ``sets`` adds named
    IP sets to those of the rules file; ``findings`` resolves ``in_finding`` (hook for the
    analyses: given a finding id, the IPs it involves).
    """

    columns: Sequence[str] = ()
    own: str = "id"
    sets: Mapping[str, Collection[str]] = field(default_factory=dict)
    findings: Callable[[str], Collection[str]] | None = None
    _nets: dict[tuple[str, ...], tuple[list[Net], set[str]]] = field(default_factory=dict)


# ---- loading ----------------------------------------------------------------------------------
def load_rules(path: str | os.PathLike[str]) -> RuleSet:
    """Read a YAML rules file (safe loader: plain data only)."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{p}: cannot read rules file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise RulesError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return parse_rules(doc if doc is not None else {}, source=str(p))


def _fail(where: str, msg: str) -> RulesError:
    return RulesError(f"{where}: {msg}")


def _field_ref(v: Any, where: str) -> FieldRef:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        return v
    raise _fail(where, f"field must be a column name or a position >= 0, not {v!r}")


def _networks(values: Any, where: str) -> tuple[Net, ...]:
    items = values if isinstance(values, list) else [values]
    out = []
    for v in items:
        try:
            out.append(ipaddress.ip_network(str(v).strip(), strict=False))
        except ValueError:
            raise _fail(where, f"{v!r} is not an IP network (CIDR)") from None
    return tuple(out)


def _regex(pattern: Any, where: str) -> str:
    if not isinstance(pattern, str):
        raise _fail(where, f"regex must be a string, not {pattern!r}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise _fail(where, f"bad regular expression {pattern!r}: {exc}") from None
    return pattern


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def parse_condition(doc: Any, where: str) -> Condition:
    """One ``when`` mapping to a :data:`Condition`."""
    if not isinstance(doc, dict):
        raise _fail(where, f"a condition is a mapping, not {doc!r}")
    for key, cls in (("all", All), ("any", Any_)):
        if key in doc:
            if len(doc) != 1 or not isinstance(doc[key], list) or not doc[key]:
                raise _fail(where, f"'{key}' takes a non-empty list of conditions, alone")
            return cls(tuple(parse_condition(d, f"{where}.{key}[{i}]")
                             for i, d in enumerate(doc[key])))
    if "not" in doc:
        if len(doc) != 1:
            raise _fail(where, "'not' takes one condition, alone")
        return Not(parse_condition(doc["not"], f"{where}.not"))
    ref = _field_ref(doc.get("field"), where)
    ops = [k for k in doc if k not in ("field", "numeric", "ignore_case")]
    if len(ops) != 1:
        raise _fail(where, f"a condition has exactly one operator, got {ops or 'none'} (known: "
                    "equals in regex not_regex lt le gt ge eq ne cidr in_set in_finding)")
    op, arg = ops[0], doc[ops[0]]
    if op in ("equals", "in"):
        vals = arg if isinstance(arg, list) else [arg]
        return Equals(ref, tuple(_scalar_text(v) for v in vals))
    if op in ("regex", "not_regex"):
        return Regex(ref, _regex(arg, where), re.IGNORECASE if doc.get("ignore_case") else 0,
                     negate=op == "not_regex")
    if op in _COMPARE_OPS:
        if isinstance(arg, bool) or not isinstance(arg, int | float):
            raise _fail(where, f"'{op}' compares with a number, not {arg!r}")
        numeric = doc.get("numeric", "strict")
        if numeric not in ("strict", "leading"):
            raise _fail(where, "numeric is 'strict' or 'leading'")
        return Compare(ref, op, float(arg), numeric)
    if op == "cidr":
        return InNetworks(ref, _networks(arg, where))
    if op == "in_set":
        return InSet(ref, str(arg))
    if op == "in_finding":
        return InFinding(ref, str(arg))
    raise _fail(where, f"unknown operator {op!r} (known: equals in regex not_regex lt le gt ge "
                "eq ne cidr in_set in_finding all any not)")


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][\w.]*|\d+)\}")


def _template(text: str, where: str) -> Template:
    parts: list[str | tuple[FieldRef]] = []
    pos, buf = 0, ""
    for m in _PLACEHOLDER.finditer(text):
        buf += text[pos:m.start()]
        pos = m.end()
        if m.group(0) in ("{{", "}}"):
            buf += m.group(0)[0]
            continue
        if buf:
            parts.append(buf)
            buf = ""
        name = m.group(1)
        parts.append((int(name) if name.isdigit() else name,))
    buf += text[pos:]
    if "{" in buf or "}" in buf:
        raise _fail(where, f"template {text!r}: braces must be '{{name}}', '{{{{' or '}}}}'")
    if buf:
        parts.append(buf)
    return Template(tuple(parts))


def parse_value(prop: str, doc: Any, where: str) -> Value:
    """One property value (literal or computed) to a :data:`Value`."""
    if isinstance(doc, dict):
        if "field" in doc and len(doc) == 1:
            return FieldValue(_field_ref(doc["field"], where))
        if "extract" in doc:
            unknown = set(doc) - {"extract", "field", "prefix", "suffix"}
            if unknown:
                raise _fail(where, f"extract: unknown keys {sorted(unknown)}")
            return Extract(_regex(doc["extract"], where), _field_ref(doc.get("field"), where),
                           str(doc.get("prefix", "")), str(doc.get("suffix", "")))
        if "template" in doc and len(doc) == 1:
            return _template(str(doc["template"]), where)
        if "severity" in doc:
            src = doc["severity"]
            ref = src.get("field") if isinstance(src, dict) else src
            steps = doc.get("steps", 10)
            if not isinstance(steps, int) or steps <= 0:
                raise _fail(where, "severity steps must be a positive integer")
            return Severity(_field_ref(ref, where), steps)
        raise _fail(where, f"unknown value form {sorted(doc)} (field, extract, template, "
                    "severity)")
    if isinstance(doc, list) or doc is None:
        raise _fail(where, f"{prop}: a value is a literal or a mapping, not {doc!r}")
    if prop == "size":
        if isinstance(doc, bool) or not isinstance(doc, int | float):
            raise _fail(where, f"size must be a number, not {doc!r}")
        return Literal(float(doc))
    if prop == "shape" and str(doc) not in SHAPES:
        raise _fail(where, f"unknown shape {doc!r} (known: {', '.join(sorted(SHAPES))})")
    if prop == "label" and doc is False:
        return Literal("")  # no label
    return Literal(_scalar_text(doc))


def parse_rules(doc: Any, source: str = "rules") -> RuleSet:
    """Validate a parsed YAML document and build the :class:`RuleSet`."""
    if not isinstance(doc, dict):
        raise _fail(source, "the rules file is a mapping with 'rules' (and 'sets', 'settings')")
    unknown = set(doc) - {"version", "rules", "sets", "settings"}
    if unknown:
        raise _fail(source, f"unknown top-level keys {sorted(unknown)}")
    if doc.get("version", 1) != 1:
        raise _fail(source, f"unsupported version {doc.get('version')!r} (this is version 1)")
    sets: dict[str, tuple[str, ...]] = {}
    for name, members in (doc.get("sets") or {}).items():
        items = members if isinstance(members, list) else [members]
        sets[str(name)] = tuple(str(m).strip() for m in items)
    settings = _parse_settings(doc.get("settings") or {}, f"{source}: settings")
    rules: list[Rule] = []
    for i, r in enumerate(doc.get("rules") or []):
        where = f"{source}: rules[{i}]"
        if not isinstance(r, dict):
            raise _fail(where, "a rule is a mapping")
        element = r.get("element", "node")
        if element not in ELEMENTS:
            raise _fail(where, f"element {element!r} is not one of {', '.join(ELEMENTS)}")
        props = [k for k in r if k in PROPERTIES]
        extra = set(r) - set(PROPERTIES) - {"element", "when"}
        if extra:
            raise _fail(where, f"unknown keys {sorted(extra)} (a rule has element, when and one "
                        f"or more of {', '.join(PROPERTIES)})")
        if not props:
            raise _fail(where, f"sets none of {', '.join(PROPERTIES)}")
        when = parse_condition(r["when"], f"{where}.when") if "when" in r else None
        for prop in props:
            if element == "edge" and prop in ("shape", "cluster"):
                raise _fail(where, f"edges have no {prop}")
            rules.append(Rule(element, prop, parse_value(prop, r[prop], f"{where}.{prop}"),
                              when, where))
    return RuleSet(tuple(rules), sets, settings)


def _parse_settings(doc: Any, where: str) -> Settings:
    if not isinstance(doc, dict):
        raise _fail(where, "settings is a mapping")
    known = {"duplicate_edges", "max_node_size", "sum_sizes", "concentrate", "xlabels", "url"}
    unknown = set(doc) - known
    if unknown:
        raise _fail(where, f"unknown settings {sorted(unknown)} (known: {sorted(known)})")
    mns = doc.get("max_node_size")
    if mns is not None and (isinstance(mns, bool) or not isinstance(mns, int | float)):
        raise _fail(where, "max_node_size is a number")
    return Settings(duplicate_edges=bool(doc.get("duplicate_edges", False)),
                    max_node_size=float(mns) if mns is not None else None,
                    sum_sizes=frozenset(doc.get("sum_sizes") or ()),
                    concentrate=bool(doc.get("concentrate", True)),
                    xlabels=bool(doc.get("xlabels", True)),
                    url=str(doc["url"]) if doc.get("url") else None)


def _interpolate(begin: int, end: int, step: float, top: float) -> float:
    if begin < end:
        return (end - begin) * (step / top) + begin
    return (begin - end) * (1 - step / top) + end


def severity_color(value: float, steps: int = 10) -> str:
    """A colour from green (0) to red (``steps`` and above), as AfterGlow's get_severity().

    The value is rounded half away from zero and clamped to ``0..steps``.

    >>> severity_color(0), severity_color(10), severity_color(5, steps=10)
    ('#60BB22', '#CC0000', '#965D11')
    """
    steps = steps if steps > 0 else 10
    x = int(value + 0.5 * ((value > 0) - (value < 0)))
    x = min(max(x, 0), steps)
    start, end = 0x60BB22, 0xCC0000
    channels = []
    for shift in (16, 8, 0):
        b0, b1 = (start >> shift) & 0xFF, (end >> shift) & 0xFF
        channels.append(int(_interpolate(b0, b1, x, steps)))
    return "#{:02X}{:02X}{:02X}".format(*channels)


# ---- evaluation -------------------------------------------------------------------------------
def _column(table: pa.Table, ref: FieldRef, ctx: RuleContext) -> pa.ChunkedArray | None:
    """The column a reference names, or None if the table has no such column."""
    if ref is None:
        name = ctx.own
    elif isinstance(ref, int):
        if ref >= len(ctx.columns):
            return None
        name = ctx.columns[ref]
    else:
        name = ref
    if name not in table.column_names:
        return None
    return table.column(name)


def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col
    if pa.types.is_boolean(t):
        return pc.if_else(col, "true", "false")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pc.binary_join(col, ";")
    if pa.types.is_timestamp(t):
        return pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ")
    return pc.cast(col, pa.string())


def _per_distinct(col: pa.ChunkedArray, fn: Callable[[Any], Any], out_type: pa.DataType
                  ) -> pa.ChunkedArray:
    """Apply a Python function once per distinct value and spread the results over the rows."""
    enc = pc.dictionary_encode(col.combine_chunks() if col.num_chunks != 1 else col.chunk(0))
    values = enc.dictionary.to_pylist()
    mapped = pa.array([fn(v) for v in values], type=out_type)
    if len(mapped) == 0:
        return pa.chunked_array([pa.nulls(len(col), out_type)])
    return pa.chunked_array([mapped.take(enc.indices)])


_LEADING_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def perl_number(v: str | None) -> float:
    """Perl's numeric value of a string: its leading number, else 0.

    >>> perl_number("198.167.234.152"), perl_number("0x03"), perl_number(""), perl_number("1e3x")
    (198.167, 0.0, 0.0, 1000.0)
    """
    if not v:
        return 0.0
    m = _LEADING_NUMBER.match(v)
    return float(m.group(1)) if m else 0.0


def _strict_number(v: str | None) -> float | None:
    if v is None:
        return None
    try:
        return float(v)
    except ValueError:
        return None


def _numbers(col: pa.ChunkedArray, numeric: str) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        num = pc.cast(col, pa.float64())
        return pc.fill_null(num, 0.0) if numeric == "leading" else num
    if pa.types.is_boolean(t):
        return pc.cast(col, pa.float64())
    text = _as_text(col)
    if numeric == "leading":
        return pc.fill_null(_per_distinct(text, perl_number, pa.float64()), 0.0)
    return _per_distinct(text, _strict_number, pa.float64())


def _resolve_set(ctx: RuleContext, rs: RuleSet, name: str) -> tuple[list[Net], set[str]]:
    members = rs.sets.get(name)
    if members is None:
        if name not in ctx.sets:
            raise RulesError(f"named set {name!r} is not defined (in the rules file 'sets' or "
                             "given by the caller)")
        members = tuple(ctx.sets[name])
    return _split_members(ctx, tuple(members))


def _split_members(ctx: RuleContext, members: tuple[str, ...]) -> tuple[list[Net], set[str]]:
    cached = ctx._nets.get(members)
    if cached is not None:
        return cached
    nets: list[Net] = []
    plain: set[str] = set()
    for m in members:
        try:
            nets.append(ipaddress.ip_network(m, strict=False))
        except ValueError:
            plain.add(m)
    ctx._nets[members] = (nets, plain)
    return nets, plain


def _in_networks(text: pa.ChunkedArray, nets: Sequence[Net], plain: Collection[str] = ()
                 ) -> pa.ChunkedArray:
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]

    def member(v: str | None) -> bool:
        if v is None:
            return False
        if v in plain:
            return True
        try:
            a = ipaddress.ip_address(v)
        except ValueError:
            return False
        return any(a in n for n in (v4 if a.version == 4 else v6))

    return _per_distinct(text, member, pa.bool_())


def _false(n: int) -> pa.ChunkedArray:
    return pa.chunked_array([np.zeros(n, dtype=bool)], type=pa.bool_())


def condition_mask(cond: Condition, table: pa.Table, ctx: RuleContext, rs: RuleSet
                   ) -> pa.ChunkedArray:
    """A boolean column (no nulls): where ``cond`` holds.

    A missing value (or a column the table lacks) matches no operator; ``not_regex``, ``ne``
    style negations (``negate``) and ``not`` therefore hold for it, as in AfterGlow's Perl.
    """
    n = table.num_rows
    if isinstance(cond, All | Any_):
        acc = condition_mask(cond.items[0], table, ctx, rs)
        for item in cond.items[1:]:
            more = condition_mask(item, table, ctx, rs)
            acc = pc.and_(acc, more) if isinstance(cond, All) else pc.or_(acc, more)
        return acc
    if isinstance(cond, Not):
        return pc.invert(condition_mask(cond.item, table, ctx, rs))
    col = _column(table, cond.field, ctx)
    m: pa.ChunkedArray
    if col is None:  # a column the table lacks: as if every value were missing
        m = _false(n)
    elif isinstance(cond, Equals):
        m = pc.is_in(_as_text(col), value_set=pa.array(cond.values, pa.string()))
    elif isinstance(cond, Regex):
        rx = re.compile(cond.pattern, cond.flags | re.ASCII)
        m = _per_distinct(_as_text(col), lambda v: v is not None and rx.search(v) is not None,
                          pa.bool_())
    elif isinstance(cond, Compare):
        m = getattr(pc, _COMPARE_OPS[cond.op])(_numbers(col, cond.numeric), cond.number)
    elif isinstance(cond, InNetworks):
        m = _in_networks(_as_text(col), cond.networks)
    elif isinstance(cond, InSet):
        nets, plain = _resolve_set(ctx, rs, cond.name)
        m = _in_networks(_as_text(col), nets, plain)
    else:  # InFinding
        if ctx.findings is None:
            raise RulesError(f"rule uses in_finding {cond.finding!r} but no analysis results "
                             "are available here")
        members = pa.array(sorted(set(ctx.findings(cond.finding))), pa.string())
        m = pc.is_in(_as_text(col), value_set=members)
    m = pc.fill_null(m, False)
    negate = getattr(cond, "negate", False)
    return pc.invert(m) if negate else m


def _value(value: Value, prop: str, table: pa.Table, ctx: RuleContext) -> pa.ChunkedArray:
    n = table.num_rows
    out_type = pa.float64() if prop == "size" else pa.string()
    if isinstance(value, Literal):
        scalar = pa.scalar(value.value if prop != "size" else float(value.value), out_type)
        return pa.chunked_array([pa.repeat(scalar, n)])
    if isinstance(value, Severity):
        col = _column(table, value.field, ctx)
        if col is None:
            return pa.chunked_array([pa.nulls(n, pa.string())])
        steps = value.steps
        return _per_distinct(_numbers(col, "strict"),
                             lambda v: None if v is None else severity_color(v, steps),
                             pa.string())
    if isinstance(value, Template):
        cols: list[Any] = []
        for part in value.parts:
            if isinstance(part, str):
                cols.append(part)
            else:
                c = _column(table, part[0], ctx)
                cols.append(_as_text(c) if c is not None else "")
        if not any(not isinstance(c, str) for c in cols):
            return pa.chunked_array([pa.repeat(pa.scalar("".join(cols)), n)])
        joined = pc.binary_join_element_wise(*cols, "", null_handling="replace",
                                             null_replacement="")
        return joined if prop != "size" else _numbers(joined, "strict")
    col = _column(table, value.field, ctx)
    if col is None:
        return pa.chunked_array([pa.nulls(n, out_type)])
    if isinstance(value, FieldValue):
        return _numbers(col, "leading") if prop == "size" else _as_text(col)
    rx = re.compile(value.pattern, re.ASCII)
    pre, suf = value.prefix, value.suffix

    def extract(v: str | None) -> str | None:
        m = rx.search(v) if v is not None else None
        if m is None:
            return None
        got = m.group(1) if rx.groups else m.group(0)
        return None if got is None or got == "" else pre + got + suf

    out = _per_distinct(_as_text(col), extract, pa.string())
    return out if prop != "size" else _numbers(out, "strict")


def _usable(values: pa.ChunkedArray, value: Value, prop: str) -> pa.ChunkedArray:
    """Rows where a computed value counts as a match (literals always do)."""
    if isinstance(value, Literal):
        return pc.fill_null(pc.is_valid(values), False)
    if prop == "size":
        return pc.fill_null(pc.not_equal(values, 0.0), False)
    return pc.fill_null(pc.not_equal(values, ""), False)


def evaluate(rs: RuleSet, prop: str, table: pa.Table, ctx: RuleContext, *,
             elements: Collection[str] = ("node",),
             masks: Mapping[str, pa.ChunkedArray] | None = None) -> pa.ChunkedArray:
    """Evaluate one property for every row: the first matching rule's value, else null.

    ``elements`` are the rule elements that apply to all rows; ``masks`` maps further elements
    to the rows they apply to (a graph node is a ``source`` where it has outgoing edges).
    """
    n = table.num_rows
    out_type = pa.float64() if prop == "size" else pa.string()
    result = pa.chunked_array([pa.nulls(n, out_type)])
    done = _false(n)
    masks = masks or {}
    for rule in rs.for_prop(prop):
        if rule.element in elements:
            applies = None
        elif rule.element in masks:
            applies = masks[rule.element]
        else:
            continue
        try:
            cond = condition_mask(rule.when, table, ctx, rs) if rule.when is not None else None
            values = _value(rule.value, prop, table, ctx)
        except RulesError as exc:
            raise RulesError(f"{rule.origin}: {exc}" if rule.origin else str(exc)) from None
        take = pc.and_(pc.invert(done), _usable(values, rule.value, prop))
        if cond is not None:
            take = pc.and_(take, cond)
        if applies is not None:
            take = pc.and_(take, applies)
        result = pc.if_else(take, values, result)
        done = pc.or_(done, take)
        if pc.all(done).as_py():
            break
    return result
