"""Enrichment sources: GeoIP/ASN databases, passive DNS, name tables, reverse lookups, and
the asset inventory file format. Each module reads one kind of source; :mod:`graphflow.hosts`
puts them together into the hosts table.
"""

from __future__ import annotations

__all__: list[str] = []
