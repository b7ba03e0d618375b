"""AfterGlow ``.properties`` files, translated into :mod:`graphflow.rules` (never run as Perl).

AfterGlow evaluates each property value as Perl. GraphFlow reads the same lines with a small
parser for the constructs property files use and turns them into declarative rules:

* assignments ``color``, ``color.source|target|event|edge|sourcetarget``, ``size``,
  ``size.source|target|event|edge``, ``label``, ``label.source|target|event``, ``label.edge``,
  ``cluster``, ``cluster.source|target|event``, ``shape.source|target|event``; settings
  ``label.duplicate``, ``sum.*``, ``threshold``, ``threshold.*``, ``maxnodesize``,
  ``concentrate``, ``xlabels``, ``gdf``, ``url``, ``exit``;
* values: strings, barewords, numbers, ``$fields[n]``, ``field()``, ``regex_replace("re")``
  with ``.`` concatenation, ``get_severity(x[, steps])``;
* conditions after ``if`` / ``unless``: ``$fields[n] =~ /re/i`` and ``!~``, numeric
  ``< <= > >= == !=`` (Perl's numeric value of the text), ``eq`` / ``ne``, ``subnet(x, "cidr")``
  (IPv4 and IPv6), ``match("re")``, ``any_regex("re")``, ``!``, ``&&``, ``||``, ``and``,
  ``or``, ``not``, parentheses.

Anything else (``variable=``, arbitrary Perl, ``graphson``) is refused with the file, line and
the construct named. Comments and quoting are handled as AfterGlow handles them.

>>> rs = translate_properties(['color.source="red" if ($fields[0]=~/^10\\\\./)',
...                            'color.source="gray"'], "x.properties")
>>> [(r.element, r.value, type(r.when).__name__) for r in rs.rules]
[('source', Literal(value='red'), 'Regex'), ('source', Literal(value='gray'), 'NoneType')]
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphflow.rules import (
    SHAPES,
    All,
    Any_,
    Compare,
    Condition,
    Equals,
    Extract,
    FieldRef,
    FieldValue,
    InNetworks,
    Literal,
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

__all__ = ["read_properties", "translate_properties"]

_AFTERGLOW_SHAPES = frozenset("box polygon circle ellipse invtriangle octagon pentagon diamond "
                              "point triangle plaintext Mrecord".split())
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<field>\$fields\s*\[\s*(?P<idx>\d+)\s*\])
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<hex>\#[0-9A-Fa-f]{6,8})
  | (?P<op>=~|!~|==|!=|<=|>=|&&|\|\||[<>!.,()])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)
_NUM_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_FLIP = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne"}


class _Refuse(Exception):
    pass


@dataclass
class _Tok:
    kind: str
    text: str
    value: Any = None


def _perl_string(tok: str) -> str:
    """A Perl string literal's value (double quotes: escapes; variables are refused)."""
    body = tok[1:-1]
    if tok[0] == "'":
        return re.sub(r"\\([\\'])", r"\1", body)
    if re.search(r"(?<!\\)(?:\$[A-Za-z_{]|@[A-Za-z_])", body):
        raise _Refuse(f"string {tok} interpolates a Perl variable")
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "e": "\x1b", "f": "\f"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _regex_literal(src: str, pos: int) -> tuple[str, int, int]:
    """Read ``/re/flags`` (or ``m/re/flags``) at ``pos``: (pattern, flags, end)."""
    if src.startswith("m/", pos):
        pos += 1
    if pos >= len(src) or src[pos] != "/":
        raise _Refuse("expected a regular expression /.../ after =~")
    i, buf = pos + 1, []
    while i < len(src) and src[i] != "/":
        if src[i] == "\\" and i + 1 < len(src):
            buf.append("/" if src[i + 1] == "/" else src[i:i + 2])
            i += 2
            continue
        buf.append(src[i])
        i += 1
    if i >= len(src):
        raise _Refuse("unterminated regular expression")
    pattern = "".join(buf)
    if re.search(r"(?<!\\)(?:\$[A-Za-z_{]|@[A-Za-z_])", pattern) or "(?{" in pattern:
        raise _Refuse(f"regular expression /{pattern}/ interpolates or runs Perl code")
    m = re.match(r"[a-z]*", src[i + 1:])
    flag_text = m.group(0) if m else ""
    flags = 0
    for f in flag_text:
        if f == "i":
            flags |= re.IGNORECASE
        elif f == "s":
            flags |= re.DOTALL
        elif f == "m":
            flags |= re.MULTILINE
        elif f == "x":
            flags |= re.VERBOSE
        else:
            raise _Refuse(f"regular expression flag '{f}' is not supported")
    return _python_regex(pattern), flags, i + 1 + len(flag_text)


def _python_regex(pattern: str) -> str:
    if "[[:" in pattern:
        raise _Refuse(f"POSIX class in /{pattern}/ is not supported")
    py = pattern.replace("\\z", "\\Z")
    try:
        re.compile(py)
    except re.error as exc:
        raise _Refuse(f"regular expression /{pattern}/: {exc}") from None
    return py


def _tokens(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(src):
        if toks and toks[-1].kind == "op" and toks[-1].text in ("=~", "!~"):
            while pos < len(src) and src[pos].isspace():
                pos += 1
            pattern, flags, pos = _regex_literal(src, pos)
            toks.append(_Tok("regex", pattern, flags))
            continue
        m = _TOKEN.match(src, pos)
        if m is None:
            var = re.match(r"[$@%][A-Za-z_]\w*", src[pos:])
            if var:
                raise _Refuse(f"uses the Perl variable {var.group(0)}")
            raise _Refuse(f"cannot read {src[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind == "ws":
            continue
        if kind == "field":
            toks.append(_Tok("field", m.group(0), int(m.group("idx"))))
        elif kind == "str":
            toks.append(_Tok("str", m.group(0), _perl_string(m.group(0))))
        else:
            toks.append(_Tok(kind, m.group(0)))
    return toks


class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks, self.i = toks, 0

    def peek(self, *texts: str) -> bool:
        return self.i < len(self.toks) and (not texts or self.toks[self.i].text in texts)

    def take(self, text: str | None = None) -> _Tok:
        if self.i >= len(self.toks):
            raise _Refuse("unexpected end of expression")
        tok = self.toks[self.i]
        if text is not None and tok.text != text:
            raise _Refuse(f"expected '{text}', found '{tok.text}'")
        self.i += 1
        return tok

    # values ------------------------------------------------------------------
    def value(self) -> list[Any]:
        parts = [self.term()]
        while self.peek("."):
            self.take(".")
            parts.append(self.term())
        return parts

    def term(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return tok.value
        if tok.kind in ("num", "hex"):
            return tok.text
        if tok.kind == "field":
            return FieldValue(tok.value)
        if tok.text == "(":
            parts = self.value()
            self.take(")")
            if len(parts) != 1:
                raise _Refuse("parenthesised concatenation is not supported")
            return parts[0]
        if tok.kind == "ident":
            if not self.peek("("):
                return tok.text  # a bareword is its own name in AfterGlow's Perl
            return self.call(tok.text)
        raise _Refuse(f"unexpected '{tok.text}'")

    def args(self) -> list[_Tok | FieldValue]:
        self.take("(")
        out: list[_Tok | FieldValue] = []
        while not self.peek(")"):
            tok = self.take()
            if tok.kind == "ident" and tok.text == "field" and self.peek("("):
                self.take("(")
                self.take(")")
                out.append(FieldValue(None))
            elif tok.kind == "field":
                out.append(FieldValue(tok.value))
            elif tok.kind in ("str", "num"):
                out.append(tok)
            else:
                raise _Refuse(f"unsupported argument '{tok.text}'")
            if self.peek(","):
                self.take(",")
        self.take(")")
        return out

    def call(self, name: str) -> Any:
        args = self.args()
        if name == "field" and not args:
            return FieldValue(None)
        if name == "regex_replace" and len(args) == 1 and isinstance(args[0], _Tok):
            return Extract(_python_regex(str(args[0].value if args[0].kind == "str"
                                                 else args[0].text)))
        if name == "get_severity" and 1 <= len(args) <= 2 and isinstance(args[0], FieldValue):
            steps = 10
            if len(args) == 2:
                a = args[1]
                if not isinstance(a, _Tok) or not re.fullmatch(r"\d+", str(a.value or a.text)):
                    raise _Refuse("get_severity() steps must be a number")
                steps = int(a.value or a.text) or 10
            return Severity(args[0].field, steps)
        raise _Refuse(f"function {name}() is not supported here")

    # conditions --------------------------------------------------------------
    def cond(self) -> Condition:
        left = self.and_()
        while self.peek("||", "or"):
            self.take()
            left = Any_((left, self.and_()))
        return left

    def and_(self) -> Condition:
        left = self.not_()
        while self.peek("&&", "and"):
            self.take()
            left = All((left, self.not_()))
        return left

    def not_(self) -> Condition:
        if self.peek("!", "not"):
            self.take()
            return Not(self.not_())
        return self.atom()

    def operand(self) -> Any:
        tok = self.take()
        if tok.kind == "field":
            return FieldValue(tok.value)
        if tok.kind == "ident" and tok.text == "field":
            self.take("(")
            self.take(")")
            return FieldValue(None)
        if tok.kind == "str":
            return tok.value
        if tok.kind == "num":
            return float(tok.text)
        raise _Refuse(f"unsupported operand '{tok.text}'")

    def atom(self) -> Condition:
        if self.peek("("):
            self.take("(")
            c = self.cond()
            self.take(")")
            return c
        tok = self.toks[self.i] if self.peek() else None
        if tok is not None and tok.kind == "ident" and tok.text in ("subnet", "match",
                                                                   "any_regex"):
            self.take()
            args = self.args()
            return self.function_cond(tok.text, args)
        left = self.operand()
        if not self.peek():
            return self.truthy(left)
        op = self.toks[self.i].text
        if op in ("=~", "!~"):
            self.take()
            rx = self.take()
            ref = self.ref(left)
            return Regex(ref, rx.text, int(rx.value), negate=op == "!~")
        if op in _NUM_OPS:
            self.take()
            right = self.operand()
            return self.compare(left, _NUM_OPS[op], right)
        if op in ("eq", "ne"):
            self.take()
            right = self.operand()
            if isinstance(left, FieldValue) and isinstance(right, str | float):
                return Equals(left.field, (_text(right),), negate=op == "ne")
            if isinstance(right, FieldValue) and isinstance(left, str | float):
                return Equals(right.field, (_text(left),), negate=op == "ne")
            raise _Refuse(f"'{op}' compares a field with a string")
        return self.truthy(left)

    def ref(self, v: Any) -> FieldRef:
        if not isinstance(v, FieldValue):
            raise _Refuse("a pattern match needs $fields[n] or field() on its left")
        return v.field

    def truthy(self, v: Any) -> Condition:
        if isinstance(v, FieldValue):
            return Not(Equals(v.field, ("", "0")))
        raise _Refuse("a constant is not a condition")

    def compare(self, left: Any, op: str, right: Any) -> Condition:
        if isinstance(left, FieldValue) and isinstance(right, float):
            return Compare(left.field, op, right, numeric="leading")
        if isinstance(right, FieldValue) and isinstance(left, float):
            return Compare(right.field, _FLIP[op], left, numeric="leading")
        raise _Refuse("a numeric comparison needs $fields[n] (or field()) and a number")

    def function_cond(self, name: str, args: list[_Tok | FieldValue]) -> Condition:
        if name == "subnet" and len(args) == 2 and isinstance(args[0], FieldValue) \
                and isinstance(args[1], _Tok):
            cidr = str(args[1].value if args[1].kind == "str" else args[1].text)
            try:
                net = ipaddress.ip_network(cidr.strip(), strict=False)
            except ValueError:
                raise _Refuse(f"subnet(): {cidr!r} is not a network") from None
            return InNetworks(args[0].field, (net,))
        if name in ("match", "any_regex") and len(args) == 1 and isinstance(args[0], _Tok):
            pattern = _python_regex(str(args[0].value if args[0].kind == "str"
                                        else args[0].text))
            if name == "match":
                return Regex(None, pattern)
            return Any_(tuple(Regex(i, pattern) for i in range(5)))
        raise _Refuse(f"{name}() with these arguments is not supported")


def _text(v: str | float) -> str:
    return v if isinstance(v, str) else (str(int(v)) if v == int(v) else str(v))


def _as_value(prop: str, parts: list[Any]) -> Value:
    if len(parts) == 1:
        p = parts[0]
        if isinstance(p, FieldValue | Extract | Severity):
            return p
        if prop == "size":
            try:
                return Literal(float(p))
            except ValueError:
                raise _Refuse(f"size {p!r} is not a number") from None
        return Literal(str(p))
    extracts = [p for p in parts if isinstance(p, Extract)]
    if extracts:
        if len(extracts) > 1 or any(isinstance(p, FieldValue | Severity) for p in parts):
            raise _Refuse("regex_replace() concatenated with fields is not supported")
        i = parts.index(extracts[0])
        return replace(extracts[0], prefix="".join(map(str, parts[:i])),
                       suffix="".join(map(str, parts[i + 1:])))
    if any(isinstance(p, Severity) for p in parts):
        raise _Refuse("get_severity() cannot be concatenated")
    return Template(tuple((p.field,) if isinstance(p, FieldValue) else str(p) for p in parts))


_TARGETS = {"": "node", "source": "source", "target": "target", "event": "event",
            "edge": "edge", "sourcetarget": "sourcetarget"}


def _split_line(raw: str) -> tuple[str, str] | None:
    """AfterGlow's own reading of a line: comments, ``name=value``, quotes, ``;``."""
    if re.match(r"^\s*#", raw) or re.match(r"^\s*$", raw):
        return None
    ln = re.sub(r'[^"=]#.*$', "", raw)
    parts = re.split(r"\s*=", ln, maxsplit=1)
    name = parts[0].strip()
    value = parts[1] if len(parts) > 1 else ""
    value = re.sub(r"^\s*=?\s*", "", value)
    value = re.sub(r"\s*$", "", value)
    value = re.sub(r";$", "", value)
    m = re.match(r'^"(.*)"$', value)
    if m:
        value = m.group(1)
    return name, value


def _statement(value: str) -> tuple[list[Any], Condition | None]:
    toks = _tokens(value)
    p = _Parser(toks)
    parts = p.value()
    when: Condition | None = None
    if p.peek("if", "unless"):
        negate = p.take().text == "unless"
        when = p.cond()
        if negate:
            when = Not(when)
    if p.peek():
        raise _Refuse(f"unexpected '{p.toks[p.i].text}'")
    return parts, when


def translate_properties(lines: list[str], source: str = "properties") -> RuleSet:
    """Translate AfterGlow property lines into a :class:`RuleSet` (see the module docs)."""
    rules: list[Rule] = []
    settings: dict[str, Any] = {"thresholds": {}, "sum_sizes": set()}
    shapes: dict[str, Rule] = {}
    for number, raw in enumerate(lines, start=1):
        where = f"{source}:{number}"
        split = _split_line(raw.rstrip("\r\n"))
        if split is None:
            continue
        name, value = split
        try:
            if name == "exit":
                break
            _translate_one(name, value, where, rules, settings, shapes)
        except _Refuse as exc:
            raise RulesError(f"{where}: cannot translate {name}={value!r}: {exc}") from None
    rules.extend(shapes.values())
    st = Settings(duplicate_edges=bool(settings.get("duplicate_edges", False)),
                  max_node_size=settings.get("max_node_size"),
                  sum_sizes=frozenset(settings["sum_sizes"]),
                  concentrate=bool(settings.get("concentrate", True)),
                  xlabels=bool(settings.get("xlabels", True)),
                  url=settings.get("url"), thresholds=dict(settings["thresholds"]),
                  output=settings.get("output"))
    return RuleSet(tuple(rules), {}, st)


def _perl_true(v: str) -> bool:
    return v not in ("", "0")


def _translate_one(name: str, value: str, where: str, rules: list[Rule],
                   settings: dict[str, Any], shapes: dict[str, Rule]) -> None:
    head, _, tail = name.partition(".")
    if head in ("color", "size", "label", "cluster") and tail in _TARGETS:
        element = _TARGETS[tail]
        if (head in ("cluster",) and element in ("edge", "sourcetarget")) or \
                (head in ("size", "label") and element == "sourcetarget"):
            raise _Refuse(f"AfterGlow has no {name}")
        if head == "label" and element != "edge" and value.strip() in ("0", ""):
            rules.append(Rule(element, "label", Literal(""), None, where))
            return
        if head == "label" and element != "edge" and value.strip() == "1":
            rules.append(Rule(element, "label", FieldValue(None), None, where))
            return
        parts, when = _statement(value)
        rules.append(Rule(element, head, _as_value(head, parts), when, where))
    elif head == "shape" and tail in ("source", "target", "event"):
        shape = value.strip().rstrip(";").strip("\"'")
        if shape not in _AFTERGLOW_SHAPES or shape not in SHAPES:
            raise _Refuse(f"unknown shape (AfterGlow knows {', '.join(sorted(_AFTERGLOW_SHAPES))})")
        shapes[tail] = Rule(tail, "shape", Literal(shape), None, where)
    elif name == "label.duplicate":
        settings["duplicate_edges"] = _perl_true(value.strip())
    elif head == "sum" and tail in ("source", "target", "event"):
        if value.strip().rstrip(";") not in ("0", "1"):
            raise _Refuse("sum.* is 0 or 1")
        if value.strip().rstrip(";") == "1":
            settings["sum_sizes"].add(tail)
    elif head == "threshold" and tail in ("", "source", "event", "target"):
        digits = re.match(r"\d*", value).group(0)  # type: ignore[union-attr]  # always matches
        settings["thresholds"][tail or "all"] = int(digits) if digits else 0
    elif name.lower() == "maxnodesize":
        digits = re.match(r"\d*", value).group(0)  # type: ignore[union-attr]  # always matches
        settings["max_node_size"] = float(digits) if digits else 0.0
    elif name == "concentrate":
        if value.strip().rstrip(";") not in ("0", "1"):
            raise _Refuse("concentrate is 0 or 1")
        settings["concentrate"] = value.strip().rstrip(";") == "1"
    elif name == "xlabels":
        settings["xlabels"] = _perl_true(value.strip())
    elif name == "gdf":
        settings["output"] = "gdf"
    elif name == "url":
        settings["url"] = value
    elif name == "graphson":
        raise _Refuse("GraphSON output is not supported (use 'graphflow export cytoscape')")
    elif name == "variable":
        raise _Refuse("'variable' runs Perl code; GraphFlow never evaluates code")
    else:
        raise _Refuse("unknown property")


def read_properties(path: str | os.PathLike[str]) -> RuleSet:
    """Read and translate an AfterGlow property file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RulesError(f"{p}: cannot read property file: {exc.strerror}") from None
    return translate_properties(text.splitlines(), str(p))
