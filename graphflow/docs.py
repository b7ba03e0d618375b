"""Documentation generated from code: the schema and configuration pages.

``python -m graphflow.docs`` rewrites them; a test fails when they are stale.
"""

from __future__ import annotations

from pathlib import Path

from graphflow.config import settings_markdown
from graphflow.schema import CONN_STATES, EDGE_FIELDS, FLOW_FIELDS, schema_markdown

__all__ = ["render_docs", "write_docs"]


def render_docs() -> dict[str, str]:
    """Page path (relative to the repository) -> Markdown text."""
    states = "\n".join(f"| `{k}` | {v} |" for k, v in CONN_STATES.items())
    schema = f"""# Canonical schema

Generated from `graphflow/schema.py` by `python -m graphflow.docs`; do not edit by hand.

## Flows (`flows/day=YYYY-MM-DD/*.parquet`)

{schema_markdown(FLOW_FIELDS)}

Bytes and packets are IP-level per direction; `src` is the originator. Readers' mappings are
documented in each reader module (`ingest/*.py`) and in [formats.md](formats.md).

## Edges (`edges/day=YYYY-MM-DD/*.parquet`)

One row per (`day`, `src_ip`, `dst_ip`, `dst_port`, `proto`). Coarser views (per pair, per
window) are sums of these rows.

{schema_markdown(EDGE_FIELDS)}

## Connection states (`state`)

| state | meaning |
|---|---|
{states}
"""
    config = f"""# Configuration

Generated from `graphflow/config.py` by `python -m graphflow.docs`; do not edit by hand.

Each layer overrides the one before: defaults, then a TOML file (`--config`; detector
thresholds under `[thresholds]`), then `GRAPHFLOW_<SETTING>` environment variables (for example
`GRAPHFLOW_FANOUT_MIN_PEERS=40`), then command-line flags.

{settings_markdown()}
"""
    return {"docs/schema.md": schema, "docs/configuration.md": config,
            "docs/analyses.md": _analyses_page()}


def _analyses_page() -> str:
    from graphflow.analyses import REGISTRY, analysis_params

    parts = ["""# Analyses

Generated from the analysis registry by `python -m graphflow.docs`; do not edit by hand.

Run one with `graphflow analyze NAME [--param value ...] [--json|--csv]`; list them with
`graphflow analyze --list`. Every finding is `{id, analysis, entity, members, figures,
evidence}`; `id` is stable for the same data and parameters, and `graphflow flows --finding ID`
returns exactly the flows behind its figures. Findings can be filtered with `--cidr`,
`--country`, `--asn` and `--dns '*.example.com'`. Whitelisted hosts (the inventory's
whitelist) are left out at query time. All analyses run on the edge model joined with the
hosts table, so each has a Cypher twin over the same graph model.
"""]
    for a in REGISTRY.values():
        defaults = analysis_params(a.name)
        params = "\n".join(
            f"| `--{p.name.replace('_', '-')}` | `{defaults[p.name]}` | "
            f"{('`' + p.default_from + '`') if p.default_from else ''} | {p.help} |"
            for p in a.params)
        parts.append(f"""## `{a.name.replace('_', '-')}`

{a.explain}

| parameter | default | from threshold | meaning |
|---|---|---|---|
{params}
""")
    return "\n".join(parts)


def write_docs(root: Path) -> list[Path]:
    written = []
    for rel, text in render_docs().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    write_docs(Path(__file__).resolve().parents[1])
