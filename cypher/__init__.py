"""Cypher files shipped with GraphFlow: the Neo4j schema and one file per analysis.

Load them with :func:`read_cypher`, never with paths relative to the current directory.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["read_cypher"]


def read_cypher(name: str) -> str:
    """The text of ``cypher/<name>.cypher``.

    >>> "CONSTRAINT" in read_cypher("schema")
    True
    """
    return (files(__package__) / f"{name}.cypher").read_text(encoding="utf-8")
