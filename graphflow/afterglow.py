"""AfterGlow-compatible graphs from CSV: ``graphflow afterglow`` (AfterGlow 1.6.6 semantics).

Input is AfterGlow's CSV: ``source,event,target[,meta1[,meta2]]``, or ``source,target[,meta..]``
in two-node mode (chosen by ``-t``, or automatically when the first line has two columns).
Property files (``-c``) are translated into :mod:`graphflow.rules` by
:mod:`graphflow.exports.properties`; a YAML rules file works too. The output is DOT (default)
or GDF (``-k``), written the way AfterGlow writes them.

The pipeline follows ``afterglow.pl`` step by step, on whole columns instead of line by line:
clustering (node renaming), invisible nodes, node names (``-s``, ``-p``), the per-node colour,
label and size of the *last* line the node appears on, counts and fan-outs, the edge filters
(``-o``: both ends seen more than N times; ``-f``/``-g``: fan-out above N; thresholds), and
node printing (a node that is a source is written as a source, an event only if it is not,
a target only if neither). Deliberate differences are listed in ``docs/afterglow.md``.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graphflow.errors import GraphFlowError, InputFormatError
from graphflow.exports.base import WriteReport
from graphflow.exports.colors import Palette, to_rgb
from graphflow.exports.dot import DotLayout, write_dot
from graphflow.exports.escape import as_text, gdf_field, join
from graphflow.exports.gdf import rgb_field, write_gdf
from graphflow.exports.model import ExportGraph
from graphflow.exports.properties import read_properties
from graphflow.rules import RuleContext, RuleSet, evaluate, load_rules

__all__ = ["AFTERGLOW_VERSION", "AfterglowOptions", "AfterglowReport", "afterglow_graph",
           "read_afterglow_csv", "run_afterglow"]

AFTERGLOW_VERSION = "1.6.6"
FIELDS = ("f0", "f1", "f2", "f3", "f4")
#: AfterGlow's GDF colour values where they differ from X11 (its own table, used by -k).
AFTERGLOW_RGB = {
    "gray": (128, 128, 128), "gray40": (103, 102, 102), "gray42": (105, 105, 105),
    "green": (0, 128, 0), "maroon": (128, 0, 0), "orange": (255, 128, 0),
    "paleturquoise": (174, 238, 238), "purple": (128, 0, 128),
    "springgreen1": (0, 238, 118), "springgreen2": (0, 205, 102),
    "springgreen3": (0, 139, 69),
}
#: the colour AfterGlow gives an element no rule coloured (the first of its colour index)
NO_COLOR = "antiquewhite"
_FALLBACK = {"source": "white", "event": "cyan", "target": "red"}


@dataclass(frozen=True)
class AfterglowOptions:
    """AfterGlow's command-line options (letters as in ``afterglow.pl``)."""

    two_nodes: bool = False            # -t
    source_fanout: int = 0             # -f
    event_fanout: int = 0              # -g
    omit: int = 0                      # -o
    split_mode: int = 0                # -p 0..3
    no_labels: bool = False            # -n
    max_node_size: float = 0.2         # -m
    edge_length: float = 1.5           # -e
    skip: int = 0                      # -b
    max_lines: int | None = None       # -l
    gdf: bool = False                  # -k
    split_nodes: bool = False          # -s
    node_count: bool = False           # -d
    plain_label: bool = False          # -a
    label_color: str = "black"         # -x


@dataclass
class AfterglowReport:
    lines: int
    nodes: int
    edges: int
    format: str
    output: str | None
    seconds: float
    source_labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "source_labels"}


# ---- input ------------------------------------------------------------------------------------
def read_afterglow_csv(data: bytes, *, skip: int = 0, max_lines: int | None = None,
                       name: str = "<stdin>") -> tuple[pa.Table, int]:
    """Parse AfterGlow CSV into string columns ``f0..f4`` ('' where a line is short) and
    return it with the number of columns of its first line.

    >>> t, width = read_afterglow_csv(b'10.0.0.1,"a,b",x\\n10.0.0.2,c,y\\n')
    >>> width, t.column("f1").to_pylist()
    (3, ['a,b', 'c'])
    """
    lines = data.split(b"\n")
    if skip:
        data = b"\n".join(lines[skip:])
    if max_lines is not None:
        data = b"\n".join(data.split(b"\n")[:max_lines])
    if not data.strip():
        return pa.table({f: pa.array([], pa.string()) for f in FIELDS}), 0
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(32)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        width = table.num_columns
    except (pa.ArrowInvalid, UnicodeDecodeError):
        table, width = _read_slow(data, name, skip)
    cols = {}
    for i, f in enumerate(FIELDS):
        cols[f] = table.column(i) if i < table.num_columns else \
            pa.chunked_array([pa.repeat(pa.scalar(""), table.num_rows)])
    return pa.table(cols), width


def _read_slow(data: bytes, name: str, skip: int) -> tuple[pa.Table, int]:
    """Lines of differing widths or odd bytes: Python's csv module, line by line."""
    text = data.decode("utf-8", errors="replace")
    rows: list[list[str]] = []
    width = 0
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        for row in reader:
            if not row:
                continue
            if not rows:
                width = len(row)
            rows.append((row + [""] * 5)[:5])
    except csv.Error as exc:
        raise InputFormatError(name, reader.line_num + skip, f"not CSV: {exc}") from None
    return pa.table({f: pa.array([r[i] for r in rows], pa.string())
                     for i, f in enumerate(FIELDS)}), width


# ---- the pipeline -------------------------------------------------------------------------------
def _truthy(col: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """Perl truthiness of strings: not null, not '' and not '0'."""
    return pc.fill_null(pc.invert(pc.is_in(col, value_set=pa.array(["", "0"]))), False)


def _cluster(rs: RuleSet, raw: pa.Table, role: str, col: str) -> pa.ChunkedArray:
    values = raw.column(col)
    if not rs.has("cluster", ("node", role)):
        return values
    ctx = RuleContext(columns=FIELDS, own="own")
    work = raw.append_column("own", values)
    generic = evaluate(rs, "cluster", work, ctx, elements=("node",))
    values = pc.coalesce(generic, values)
    work = raw.append_column("own", values)
    specific = evaluate(rs, "cluster", work, ctx, elements=(role,))
    return pc.coalesce(specific, values)


def afterglow_graph(rows: pa.Table, width: int, opts: AfterglowOptions, rs: RuleSet
                    ) -> tuple[ExportGraph, list[str]]:
    """AfterGlow's graph for parsed CSV ``rows``: nodes (``id label color size shape kind``)
    and edges (``source target label color size``), and the source labels (for ``-r``)."""
    two = opts.two_nodes or width == 2
    roles = ("source", "target") if two else ("source", "event", "target")
    role_col = dict(zip(roles, FIELDS, strict=False))
    # clustering renames nodes; conditions see the raw fields
    fields = {f: rows.column(f) for f in FIELDS}
    for role in roles:
        fields[role_col[role]] = _cluster(rs, rows, role, role_col[role])
    F = pa.table(fields)
    ctx = RuleContext(columns=FIELDS)
    palette = Palette()

    def color(role: str, elements: tuple[str, ...], own: str | None) -> pa.ChunkedArray:
        ctx.own = own or "__none__"
        v = evaluate(rs, "color", F, ctx, elements=elements)
        return palette.resolve(pc.fill_null(v, NO_COLOR))

    st_color = color("sourcetarget", ("node", "sourcetarget"), "f0")
    colors = {r: color(r, ("node", r), role_col[r]) for r in roles}
    visible = pc.not_equal(st_color, "invisible")
    for r in roles:
        visible = pc.and_(visible, pc.not_equal(colors[r], "invisible"))
    has_edge_color = rs.has("color", ("edge",))
    edge_color = color("edge", ("edge",), "f1" if two else None) if has_edge_color else None

    def label(role: str) -> pa.ChunkedArray:
        ctx.own = role_col[role]
        v = evaluate(rs, "label", F, ctx, elements=("node", role))
        return pc.coalesce(v, F.column(role_col[role]))

    def size(role: str) -> pa.ChunkedArray | None:
        if not rs.has("size", ("node", role)):
            return None
        ctx.own = role_col[role]
        return pc.fill_null(evaluate(rs, "size", F, ctx, elements=("node", role)), 0.0)

    src_v = F.column("f0")
    tgt_v = F.column(role_col["target"])
    cols: dict[str, Any] = {
        "row": pa.array(range(F.num_rows), pa.int64()),
        "s": join(["S:", src_v]) if opts.split_nodes else src_v,
        "t": join(["T:", tgt_v]) if opts.split_nodes else tgt_v,
        "s_color": colors["source"], "st_color": st_color, "t_color": colors["target"],
        "s_label": label("source"), "t_label": label("target"),
    }
    if not two:
        ev = F.column("f1")
        cols["e"] = {0: ev, 1: join([src_v, ev], " "), 2: join([ev, tgt_v], " "),
                     3: join([src_v, ev, tgt_v], " ")}.get(opts.split_mode, ev)
        cols["e_color"] = colors["event"]
        cols["e_label"] = label("event")
    for r in roles:
        sz = size(r)
        if sz is not None:
            cols[f"{r[0]}_size"] = sz
    if edge_color is not None:
        cols["x_color"] = edge_color
    if rs.has("size", ("edge",)):
        ctx.own = "f1" if two else "__none__"
        cols["x_size"] = pc.fill_null(evaluate(rs, "size", F, ctx, elements=("edge",)), 0.0)
    if rs.has("label", ("edge",)):
        ctx.own = "f1" if two else "__none__"
        # AfterGlow: when no edge label rule matches, the label is the failed eval's ''
        cols["x_label"] = pc.fill_null(evaluate(rs, "label", F, ctx, elements=("edge",)), "")
    table = pa.table(cols).filter(visible)
    return _assemble(table, two, opts, rs)


def _assemble(t: pa.Table, two: bool, opts: AfterglowOptions, rs: RuleSet
              ) -> tuple[ExportGraph, list[str]]:
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # stdout is the graph (or --json)
    try:
        con.register("r", t)
        return _assemble_sql(con, t, two, opts, rs)
    finally:
        con.close()


def _q(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    rel = con.sql(sql)
    table: pa.Table = (getattr(rel, "to_arrow_table", None) or rel.arrow)()
    return table


# The SQL below is built from constant identifiers only (role keys s/e/t, their tables);
# every value (thresholds, fan-outs) is a DuckDB variable set with a parameter, read by the
# macros omit_(), ts_(), te_(), tt_(), f_(), g_().
def _assemble_sql(con: duckdb.DuckDBPyConnection, t: pa.Table, two: bool,
                  opts: AfterglowOptions, rs: RuleSet) -> tuple[ExportGraph, list[str]]:
    th = rs.settings.thresholds
    values = {"omit": th.get("all", opts.omit), "ts": th.get("source", 0),
              "te": th.get("event", 0), "tt": th.get("target", 0), "f": opts.source_fanout,
              "g": opts.event_fanout}
    for name, value in values.items():
        con.execute(f"SET VARIABLE ag_{name} = ?::BIGINT", [int(value)])
        con.execute(f"CREATE MACRO {name}_() AS getvariable('ag_{name}')")
    has = set(t.column_names)
    sum_ = rs.settings.sum_sizes

    def role_nodes(key: str, role: str, fan_to: str | None) -> str:
        size = ""
        if f"{key}_size" in has:
            size = (f", sum({key}_size) AS size, sum({key}_size) AS max_seen" if role in sum_
                    else f", arg_max({key}_size, row) AS size, max({key}_size) AS max_seen")
        fan = f", count(DISTINCT {fan_to}) AS fan" if fan_to else ", 1 AS fan"
        extra = ", arg_max(st_color, row) AS st_color" if key == "s" else ""
        sql = (f"SELECT {key} AS name, count(*) AS cnt, min(row) AS first, "  # noqa: S608 - identifiers from constants, values as parameters
               f"arg_max({key}_color, row) AS color, arg_max({key}_label, row) AS label"
               f"{extra}{size}{fan} FROM r GROUP BY {key}")
        return sql

    con.execute(f"CREATE TABLE src AS {role_nodes('s', 'source', 't' if two else 'e')}")
    con.execute(f"CREATE TABLE tgt AS {role_nodes('t', 'target', None)}")
    links = [("s", "t")] if two else [("s", "e"), ("e", "t")]
    if not two:
        con.execute(f"CREATE TABLE evt AS {role_nodes('e', 'event', 't')}")
    role_table = {"s": "src", "e": "evt", "t": "tgt"}
    thr_of = {"s": "getvariable('ag_ts')", "e": "getvariable('ag_te')",
              "t": "getvariable('ag_tt')"}
    edges_out = []
    printed = "SELECT NULL::VARCHAR AS name WHERE false"
    for a, b in links:
        agg = [f"min(row) AS first, {a} AS source, {b} AS target"]
        agg.append("arg_max(x_color, row) AS color" if "x_color" in has
                   else "NULL::VARCHAR AS color")
        agg.append("nullif(arg_max(x_size, row), 0) AS size" if "x_size" in has
                   else "NULL::DOUBLE AS size")
        agg.append("list(x_label ORDER BY row) FILTER (WHERE x_label IS NOT NULL) "
                   "AS labels" if "x_label" in has else "NULL AS labels")
        cond = ["A.cnt > omit_()", f"A.cnt > {thr_of[a]}", "B.cnt > omit_()",
                f"B.cnt > {thr_of[b]}"]
        if a == "s":
            cond.append("(f_() = 0 OR A.fan > f_())")
        if a == "e" or b == "e":
            cond.append(f"(g_() = 0 OR {'A' if a == 'e' else 'B'}.fan > g_())")
        if a == "e":
            cond.append("L.source IN (SELECT name FROM printed)")
        sql = (f"SELECT L.* FROM (SELECT {', '.join(agg)} FROM r GROUP BY {a}, {b}) L "  # noqa: S608 - identifiers from constants, values as parameters
               f"JOIN {role_table[a]} A ON A.name = L.source "
               f"JOIN {role_table[b]} B ON B.name = L.target "
               f"WHERE {' AND '.join(cond)}")
        con.execute(f"CREATE OR REPLACE TABLE l_{a}{b} AS {sql}")
        printed = (f"{printed} UNION SELECT source FROM l_{a}{b} "  # noqa: S608 - identifiers from constants, values as parameters
                   f"UNION SELECT target FROM l_{a}{b}")
        con.execute(f"CREATE OR REPLACE VIEW printed AS {printed}")
        edges_out.append(f"l_{a}{b}")
    largest = {}
    for key, role in (("s", "source"), ("e", "event"), ("t", "target")):
        if f"{key}_size" in has and (key != "e" or not two):
            top = f"SELECT max(max_seen) FROM {role_table[key]}"  # noqa: S608 - see above
            row = con.execute(top).fetchone()
            largest[role] = max(1.0, float((row or (0.0,))[0] or 0.0))
    nodes, sources = _node_rows(con, two, rs, opts, largest)
    union = " UNION ALL ".join(f"SELECT * FROM {e}" for e in edges_out)  # noqa: S608 - identifiers from constants, values as parameters
    edges = _q(con, union + " ORDER BY first, source, target")
    return ExportGraph(nodes, _edge_table(edges, opts, rs), title="AfterGlow"), sources


def _node_rows(con: duckdb.DuckDBPyConnection, two: bool, rs: RuleSet, opts: AfterglowOptions,
               largest: dict[str, float]) -> tuple[pa.Table, list[str]]:
    st_rules = rs.has("color", ("node", "sourcetarget"))
    src_rules = rs.has("color", ("node", "source"))
    src_color = ("CASE WHEN t.name IS NOT NULL AND t.label NOT IN ('', '0') THEN "
                 + ("s.st_color" if st_rules else "s.color" if src_rules else "t.color")
                 + " ELSE s.color END")
    con.execute(f"""CREATE TABLE out_src AS SELECT s.*, {src_color} AS out_color
        FROM src s LEFT JOIN tgt t USING (name)
        WHERE s.cnt > omit_() AND s.cnt > ts_() AND (f_() = 0 OR s.fan > f_())
          AND s.name IN (SELECT name FROM printed)""")  # noqa: S608 - constants
    # a printed source with a true label hides the same name as event or target
    hidden = "SELECT name FROM out_src WHERE label NOT IN ('', '0')"

    def size(table: str) -> str:
        return ", size" if _has_col(con, table, "size") else ", NULL::DOUBLE AS size"

    cols = "SELECT name, label, {}, cnt, first, '{}' AS kind"
    parts = [cols.format("out_color AS color", "source") + size("src") + " FROM out_src"]
    if not two:
        con.execute(f"""CREATE TABLE out_evt AS SELECT e.* FROM evt e
            WHERE e.name NOT IN ({hidden}) AND e.cnt > omit_() AND e.cnt > te_()
              AND (g_() = 0 OR e.fan > g_())
              AND e.name IN (SELECT name FROM printed)""")  # noqa: S608 - constants
        # events left out by a threshold may still be drawn as targets; the others hide them
        hidden += (" UNION SELECT e.name FROM evt e WHERE e.label NOT IN ('', '0') AND NOT "
                   "(e.cnt <= omit_() OR e.cnt <= te_() OR (g_() > 0 AND e.fan <= g_()) "
                   "OR e.name NOT IN (SELECT name FROM printed))")
        parts.append(cols.format("color", "event") + size("evt") + " FROM out_evt")
    targets = (f" FROM tgt WHERE name NOT IN ({hidden}) AND cnt > omit_() "  # noqa: S608 - identifiers from constants, values as parameters
               "AND cnt > tt_() AND name IN (SELECT name FROM printed)")
    parts.append(cols.format("color", "target") + size("tgt") + targets)
    nodes = _q(con, " UNION ALL ".join(f"({p})" for p in parts) +
               " ORDER BY CASE kind WHEN 'source' THEN 0 WHEN 'event' THEN 1 ELSE 2 END, first")
    sources = _q(con, "SELECT label FROM out_src ORDER BY first").column(0).to_pylist()
    return _node_table(nodes, rs, opts, largest), sources


def _has_col(con: duckdb.DuckDBPyConnection, table: str, col: str) -> bool:
    return any(r[0] == col for r in con.execute(f"DESCRIBE {table}").fetchall())


def _node_table(nodes: pa.Table, rs: RuleSet, opts: AfterglowOptions,
                largest: dict[str, float]) -> pa.Table:
    kind = nodes.column("kind")
    label = pc.fill_null(nodes.column("label"), "")
    if opts.no_labels:
        label = pc.if_else(pc.is_valid(label), "", label)
    if opts.node_count:
        label = join([label, " : ", pc.cast(nodes.column("cnt"), pa.string())])
    color = nodes.column("color")
    for k, fallback in _FALLBACK.items():
        color = pc.if_else(pc.and_(pc.equal(kind, k), pc.invert(_truthy(color))), fallback,
                           color)
    out = {"id": nodes.column("name"), "label": label, "color": color, "kind": kind}
    sizes = nodes.column("size")
    if sizes.null_count < len(sizes):
        max_size = rs.settings.max_node_size if rs.settings.max_node_size is not None \
            else opts.max_node_size
        # AfterGlow scales each kind by the largest size any of its nodes reached
        factor = pa.repeat(pa.scalar(1.0), len(kind))
        for k, actual in largest.items():
            factor = pc.if_else(pc.equal(kind, k), max_size / actual, factor)
        out["size"] = pc.max_element_wise(pc.multiply(pc.fill_null(sizes, 0.0), factor), 0.1)
    shapes = {r.element: r.value for r in rs.for_prop("shape")}
    if shapes:
        shape = pa.repeat(pa.scalar(None, pa.string()), len(kind))
        for k, v in shapes.items():
            shape = pc.if_else(pc.equal(kind, k), str(getattr(v, "value", "")), shape)
        out["shape"] = shape
    if rs.settings.url:
        out["url"] = pa.repeat(pa.scalar(rs.settings.url), len(kind))
    return pa.table(out)


def _edge_table(edges: pa.Table, opts: AfterglowOptions, rs: RuleSet) -> pa.Table:
    """Edge rows to write: with ``label.duplicate`` in GDF, one per distinct label of the
    pair (AfterGlow writes one per input line); otherwise one per pair with its first label."""
    base = {"source": edges.column("source"), "target": edges.column("target")}
    if not rs.has("label", ("edge",)):
        return pa.table({**base, "color": edges.column("color"), "size": edges.column("size")})
    labels = edges.column("labels")
    dup = rs.settings.duplicate_edges and (opts.gdf or rs.settings.output == "gdf")
    if not dup:
        first = pc.list_slice(labels, 0, 1)
        return pa.table({**base, "label": pc.list_flatten(first) if pc.all(pc.equal(
            pc.list_value_length(first), 1)).as_py() else _first_or_null(labels),
                         "color": edges.column("color"), "size": edges.column("size")})
    idx = pc.list_parent_indices(labels)
    exp = edges.drop_columns(["labels"]).take(idx).append_column("label",
                                                                 pc.list_flatten(labels))
    keys = pc.binary_join_element_wise(exp.column("source"), exp.column("target"),
                                       exp.column("label"), "\x00")
    keep = pc.sort_indices(pc.index_in(pc.unique(keys), value_set=keys))
    exp = exp.take(pc.take(pc.index_in(pc.unique(keys), value_set=keys), keep))
    return exp.select(["source", "target", "label", "color", "size"])


def _first_or_null(labels: pa.ChunkedArray) -> pa.Array:
    return pa.array([v[0] if v else None for v in labels.to_pylist()], pa.string())


# ---- output ------------------------------------------------------------------------------------
def _dot_layout(opts: AfterglowOptions, rs: RuleSet, props: str | None) -> DotLayout:
    if opts.plain_label:
        graph = f'graph [label="AfterGlow {AFTERGLOW_VERSION} (GraphFlow)", fontsize=8];'
    else:
        bits = [f"AfterGlow {AFTERGLOW_VERSION} (GraphFlow)"]
        for name, v in (("Split Mode", opts.split_mode), ("Omit Threshold", opts.omit),
                        ("Source Fan Out", opts.source_fanout),
                        ("Event Fan Out", opts.event_fanout)):
            if v:
                bits.append(f"{name}: {v}")
        if props:
            bits.append(f"Property File: {props}")
        graph = "graph [label=" + _dq(" - ".join(bits)) + ", fontsize=8];"
    size = max(rs.settings.max_node_size or opts.max_node_size, 0.0)
    fixed = ", fixedsize=true" if rs.has("size", ("node", "source", "target", "event")) else ""
    node = (f"node [shape=ellipse, style=filled, penwidth=0, fontsize=10, width={size:g}, "
            f"height={size:g}, fontcolor={_dq(opts.label_color)}, label=\"\"{fixed}];")
    header = [graph, node, f"edge [len={opts.edge_length:g}];"]
    if rs.settings.concentrate:
        header.append("concentrate=true;")
    return DotLayout(name="structs", header=tuple(header),
                     label_attr="xlabel" if rs.settings.xlabels else "label",
                     kind_attrs={"event": ", shape=box"}, edge_style="style=solid",
                     size_format="{:.2f}")


def _dq(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _afterglow_rgb(v: str | None) -> tuple[int, int, int] | None:
    if v is None:
        return None
    return AFTERGLOW_RGB.get(v.strip().strip('"').lower()) or to_rgb(v)


def _gdf_specs(g: ExportGraph) -> tuple[list[Any], list[Any]]:
    def size(t: pa.Table) -> pa.Array:
        if "size" not in t.column_names:
            return pa.repeat(pa.scalar("1"), t.num_rows)
        return pc.fill_null(as_text(pc.round(t.column("size"), 2)), "1")

    node = [("name VARCHAR", lambda t: gdf_field(t.column("id"))),
            ("label VARCHAR", lambda t: gdf_field(t.column("label"))),
            ("width DOUBLE", size), ("height DOUBLE", size),
            ("color VARCHAR", lambda t: rgb_field(t.column("color"), _afterglow_rgb,
                                                  "'100,100,100'"))]
    edge = [("node1 VARCHAR", lambda t: gdf_field(t.column("source"))),
            ("node2 VARCHAR", lambda t: gdf_field(t.column("target"))),
            ("directed BOOLEAN", lambda t: pa.repeat(pa.scalar("true"), t.num_rows)),
            ("color VARCHAR", lambda t: rgb_field(t.column("color"), _afterglow_rgb,
                                                  "'100,100,100'")),
            ("weight DOUBLE", lambda t: pc.fill_null(as_text(t.column("size")), "1"))]
    if "label" in g.edges.column_names:
        edge += [("label VARCHAR", lambda t: gdf_field(t.column("label"))),
                 ("labelvisible BOOLEAN", lambda t: pa.repeat(pa.scalar("true"), t.num_rows))]
    return node, edge


def load_styling(path: str | os.PathLike[str] | None) -> RuleSet:
    """``-c FILE``: an AfterGlow property file, or GraphFlow rules if it ends in .yaml/.yml."""
    if path is None:
        return RuleSet()
    if str(path).endswith((".yaml", ".yml")):
        return load_rules(path)
    return read_properties(path)


def run_afterglow(source: str | os.PathLike[str] | IO[bytes] | None,
                  out: str | os.PathLike[str] | IO[bytes],
                  opts: AfterglowOptions | None = None,
                  properties: str | os.PathLike[str] | None = None) -> AfterglowReport:
    """Read AfterGlow CSV (a path, a binary stream, or stdin when None), write DOT or GDF."""
    t0 = time.perf_counter()
    opts = opts or AfterglowOptions()
    rs = load_styling(properties)
    if source is None:
        data, name = sys.stdin.buffer.read(), "<stdin>"
    elif isinstance(source, str | os.PathLike):
        try:
            data, name = Path(source).read_bytes(), str(source)
        except OSError as exc:
            raise GraphFlowError(f"{source}: cannot read input: {exc.strerror}") from None
    else:
        data, name = source.read(), "<input>"
    rows, width = read_afterglow_csv(data, skip=opts.skip, max_lines=opts.max_lines, name=name)
    if opts.max_node_size <= 0 or opts.split_mode not in (0, 1, 2, 3):
        raise GraphFlowError("-m must be positive and -p one of 0, 1, 2, 3")
    graph, sources = afterglow_graph(rows, width, opts, rs)
    gdf = opts.gdf or rs.settings.output == "gdf"
    report: WriteReport
    if gdf:
        report = write_gdf(graph, out, specs=_gdf_specs(graph))
    else:
        report = write_dot(graph, out, layout=_dot_layout(opts, rs, str(properties)
                                                          if properties else None))
    return AfterglowReport(rows.num_rows, graph.nodes.num_rows, graph.edges.num_rows,
                           "gdf" if gdf else "dot", report.path,
                           round(time.perf_counter() - t0, 3), sources)
