"""Reading a rules file: YAML (safe loader, plain data only) validated into a :class:`RuleSet`.

Every error names where it is (``rules.yaml: rules[3].when``) and what is allowed there.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any

import yaml

from graphflow.rules.model import (
    COMPARE_OPS,
    ELEMENTS,
    PROPERTIES,
    SHAPES,
    All,
    Any_,
    Compare,
    Condition,
    Equals,
    Extract,
    FieldRef,
    FieldValue,
    InFinding,
    InNetworks,
    InSet,
    Literal,
    Net,
    Not,
    Regex,
    Rule,
    RulesError,
    RuleSet,
    Settings,
    Severity,
    Template,
    Value,
)

__all__ = ["load_rules", "parse_condition", "parse_rules", "parse_value"]


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
    if op in COMPARE_OPS:
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
