"""Storage backends for the host graph: the embedded workspace and Neo4j.

:mod:`graphflow.stores.base` declares what every backend offers; :mod:`graphflow.stores.neo4j`
holds the Neo4j backend (connection rule, schema, the batched idempotent load, Cypher files);
:mod:`graphflow.stores.neo4j_console` the read-only Cypher console.
"""

from graphflow.stores.base import GraphCounts, Store

__all__ = ["GraphCounts", "Store"]
