"""Matching: rules evaluated over Arrow tables, first match wins.

Regular expressions, CIDR tests and number parsing run once per distinct value of a column
(:func:`_per_distinct`), never once per row.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graphflow.rules.compat import perl_number, severity_color
from graphflow.rules.model import (
    COMPARE_OPS,
    All,
    Any_,
    Compare,
    Condition,
    Equals,
    FieldRef,
    FieldValue,
    InNetworks,
    InSet,
    Literal,
    Net,
    Not,
    Regex,
    RuleContext,
    RulesError,
    RuleSet,
    Severity,
    Template,
    Value,
)

__all__ = ["condition_mask", "evaluate"]


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
        m = getattr(pc, COMPARE_OPS[cond.op])(_numbers(col, cond.numeric), cond.number)
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
