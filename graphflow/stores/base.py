"""What every store of the host graph offers, whatever holds it (workspace Parquet or Neo4j).

Both backends hold the same hosts and edges (one edge per row of the edge model,
:data:`graphflow.schema.EDGE_FIELDS`), so both can be compared on the same figures:
:class:`GraphCounts` is what the parity and reload tests compare.

>>> GraphCounts(hosts=3, edges=2, sums={"flows": 5}).to_dict()["sums"]
{'flows': 5}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from graphflow.schema import EDGE_FIELDS
from graphflow.workspace import Workspace

__all__ = ["SUMMED_FIELDS", "GraphCounts", "Store", "workspace_counts"]

#: The edge figures whose totals must agree between backends and survive reloads unchanged:
#: every integer field of the edge model (flows, bytes, packets, state counts).
SUMMED_FIELDS: tuple[str, ...] = tuple(f.name for f in EDGE_FIELDS if f.type == pa.int64())


@dataclass(frozen=True)
class GraphCounts:
    """Hosts, edges and the sum of every summed edge figure."""

    hosts: int
    edges: int
    sums: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Store(Protocol):
    """A backend holding the host graph. ``backend`` names it (``"embedded"``, ``"neo4j"``)."""

    backend: str

    def counts(self) -> GraphCounts:
        """Hosts, edges and summed edge figures as the store holds them now."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


def workspace_counts(ws: Workspace) -> GraphCounts:
    """The figures of :class:`GraphCounts` as the workspace (the embedded store) holds them:
    hosts are the addresses at either end of an edge."""
    from graphflow.db import connect

    con = connect(ws)
    try:
        edges = con.execute("SELECT count(*) FROM edges").fetchall()[0][0]
        hosts = con.execute("SELECT count(*) FROM (SELECT src_ip FROM edges UNION "
                            "SELECT dst_ip FROM edges)").fetchall()[0][0]
        cols = ", ".join(f"coalesce(sum({f}), 0)" for f in SUMMED_FIELDS)
        # column names come from the schema constants only
        totals = con.execute(f"SELECT {cols} FROM edges").fetchall()[0]  # noqa: S608
        sums = dict(zip(SUMMED_FIELDS, (int(v) for v in totals), strict=True))
    finally:
        con.close()
    return GraphCounts(hosts=int(hosts), edges=int(edges),
                       sums={f: sums.get(f, 0) for f in SUMMED_FIELDS})
