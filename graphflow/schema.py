"""The canonical flow table, the edge model and the hosts table: declared once, here.

Every reader produces :data:`FLOW_SCHEMA`; every store, analysis and export reads it.
Nothing else in GraphFlow spells out a field list: they derive it from the tuples below.

Bytes and packets are IP-level per direction, ``src`` being the originator of the
connection. How each reader maps its own counters onto them:

* Zeek conn.log: ``src_bytes``/``dst_bytes`` = ``orig_ip_bytes``/``resp_ip_bytes`` (IP-level);
  when a log lacks those columns, the payload counters ``orig_bytes``/``resp_bytes`` are used
  as a lower bound. ``src_pkts``/``dst_pkts`` = ``orig_pkts``/``resp_pkts``.
  ``tcp_flags`` holds Zeek's ``history`` string, ``state`` its ``conn_state``.

Examples
--------
>>> [f.name for f in FLOW_FIELDS][:4]
['ts', 'duration', 'src_ip', 'src_port']
>>> FLOW_SCHEMA.field("ts").type
TimestampType(timestamp[us, tz=UTC])
>>> "flow_key" in FLOW_COLUMNS
True
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

__all__ = [
    "CONN_STATES",
    "EDGE_COLUMNS",
    "EDGE_FIELDS",
    "EDGE_KEY",
    "EDGE_SCHEMA",
    "FLOW_COLUMNS",
    "FLOW_FIELDS",
    "FLOW_SCHEMA",
    "HOST_FIELDS",
    "HOST_SCHEMA",
    "Field",
    "schema_markdown",
]


@dataclass(frozen=True)
class Field:
    """One column: name, Arrow type, whether it may be null, and what it means."""

    name: str
    type: pa.DataType
    nullable: bool
    doc: str

    def arrow(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable, metadata={"doc": self.doc})


#: Connection states (comparable to Zeek's ``conn_state``). Readers map their own states here.
CONN_STATES: dict[str, str] = {
    "S0": "connection attempt seen, no reply",
    "S1": "connection established, not terminated",
    "SF": "normal establishment and termination",
    "REJ": "connection attempt rejected",
    "S2": "established, close attempt by originator seen (no reply from responder)",
    "S3": "established, close attempt by responder seen (no reply from originator)",
    "RSTO": "established, originator aborted (sent a RST)",
    "RSTR": "responder sent a RST",
    "RSTOS0": "originator sent a SYN followed by a RST, no SYN-ACK from the responder",
    "RSTRH": "responder sent a SYN ACK followed by a RST, no SYN from the originator",
    "SH": "originator sent a SYN followed by a FIN, no SYN ACK from the responder",
    "SHR": "responder sent a SYN ACK followed by a FIN, no SYN from the originator",
    "OTH": "no SYN seen, just midstream traffic",
    "INT": "interrupted: request seen without reply (non-TCP)",
    "CON": "connected: traffic seen both ways (non-TCP)",
}

FLOW_FIELDS: tuple[Field, ...] = (
    Field("ts", pa.timestamp("us", tz="UTC"), False, "Flow start time, UTC, microseconds."),
    Field("duration", pa.float64(), True, "Flow duration in seconds; null when unknown."),
    Field("src_ip", pa.string(), False, "Originator address, IPv4 or IPv6, normalised text."),
    Field("src_port", pa.uint16(), True, "Originator port; null where the protocol has none."),
    Field("dst_ip", pa.string(), False, "Responder address, IPv4 or IPv6, normalised text."),
    Field("dst_port", pa.uint16(), True, "Responder port; null where the protocol has none."),
    Field("proto", pa.string(), False, "Transport protocol, lower case: tcp, udp, icmp, ..."),
    Field("service", pa.string(), True, "Application protocol as detected by the sensor."),
    Field("state", pa.string(), True,
          "Connection state, Zeek conn_state vocabulary (CONN_STATES)."),
    Field("tcp_flags", pa.string(), True, "TCP flags seen, or the Zeek history string."),
    Field("src_bytes", pa.int64(), True, "IP-level bytes sent by the originator."),
    Field("dst_bytes", pa.int64(), True, "IP-level bytes sent by the responder."),
    Field("src_pkts", pa.int64(), True, "Packets sent by the originator."),
    Field("dst_pkts", pa.int64(), True, "Packets sent by the responder."),
    Field("label", pa.string(), True, "Ground-truth label where the source has one."),
    Field("source_file", pa.string(), False, "Absolute path of the file the flow was read from."),
    Field("source_line", pa.int64(), False, "1-based line (or record) number in source_file."),
    Field(
        "flow_key",
        pa.string(),
        False,
        "Stable identity of the flow, derived from its content (not from the file): a 128-bit "
        "digest (32 hex digits, graphflow.flowkey) of the start time, the 5-tuple and either "
        "the sensor's own id (Zeek uid) or the duration, counters, state and flags, suffixed "
        "'.N' for the N-th identical record within one file. Used for deduplication.",
    ),
)

FLOW_SCHEMA: pa.Schema = pa.schema([f.arrow() for f in FLOW_FIELDS])
FLOW_COLUMNS: tuple[str, ...] = tuple(f.name for f in FLOW_FIELDS)

#: The edge model: one row per (day, src_ip, dst_ip, dst_port, proto). Coarser views
#: (per pair, per window) are aggregations of it.
EDGE_KEY: tuple[str, ...] = ("day", "src_ip", "dst_ip", "dst_port", "proto")

EDGE_FIELDS: tuple[Field, ...] = (
    Field("day", pa.date32(), False, "UTC day of the flows' start times."),
    Field("src_ip", pa.string(), False, "Originator address."),
    Field("dst_ip", pa.string(), False, "Responder address."),
    Field("dst_port", pa.uint16(), True, "Responder port (null for protocols without ports)."),
    Field("proto", pa.string(), False, "Transport protocol."),
    Field("flows", pa.int64(), False, "Number of flows."),
    Field("src_bytes", pa.int64(), False, "Sum of src_bytes (nulls count as 0)."),
    Field("dst_bytes", pa.int64(), False, "Sum of dst_bytes."),
    Field("src_pkts", pa.int64(), False, "Sum of src_pkts."),
    Field("dst_pkts", pa.int64(), False, "Sum of dst_pkts."),
    Field("first_seen", pa.timestamp("us", tz="UTC"), False, "Earliest flow start."),
    Field("last_seen", pa.timestamp("us", tz="UTC"), False, "Latest flow end (start+duration)."),
    Field("s0_flows", pa.int64(), False, "Flows in state S0 (attempt, no reply)."),
    Field("rej_flows", pa.int64(), False, "Flows in state REJ (attempt rejected)."),
    Field(
        "failed_flows",
        pa.int64(),
        False,
        "Flows that got no answer: states REJ or RSTOS0, or no packet back from the responder "
        "(S0, SH, one-way UDP/ICMP). Any protocol.",
    ),
    Field(
        "syn_only_flows",
        pa.int64(),
        False,
        "TCP flows where the responder sent nothing back: S0, REJ, RSTOS0, SH, or "
        "dst_pkts = 0 with a state that is not established.",
    ),
)

EDGE_SCHEMA: pa.Schema = pa.schema([f.arrow() for f in EDGE_FIELDS])
EDGE_COLUMNS: tuple[str, ...] = tuple(f.name for f in EDGE_FIELDS)


#: The hosts table (``hosts/hosts.parquet``): one row per address seen in the edges, with its
#: enrichment. Rebuilt by ``graphflow enrich`` without re-ingesting flows.
HOST_FIELDS: tuple[Field, ...] = (
    Field("ip", pa.string(), False, "Address, normalised text."),
    Field("ip_version", pa.int8(), False, "4 or 6."),
    Field("own", pa.bool_(), False, "Inside one of the inventory's own networks."),
    Field("hva", pa.bool_(), False, "A high-value asset (top criticality in the inventory)."),
    Field("role", pa.string(), True, "Inventory role (web, db, proxy, resolver, ...)."),
    Field("name", pa.string(), True, "Inventory asset name."),
    Field("owner", pa.string(), True, "Inventory owner."),
    Field("criticality", pa.string(), True, "Inventory criticality."),
    Field("whitelisted", pa.bool_(), False, "Sanctioned scanner or infrastructure."),
    Field("country", pa.string(), True, "ISO 3166-1 alpha-2 country code (GeoIP)."),
    Field("country_name", pa.string(), True, "Country name (GeoIP)."),
    Field("city", pa.string(), True, "City name (GeoIP)."),
    Field("asn", pa.int64(), True, "Autonomous system number."),
    Field("as_org", pa.string(), True, "Autonomous system organisation."),
    Field("dns", pa.list_(pa.string()), True, "DNS names (passive DNS, name tables, PTR)."),
    Field("domain", pa.string(), True, "Registered DNS domain of the first name."),
    Field("address_class", pa.string(), False,
          "public, private, loopback, link-local, multicast, shared, documentation, bogon, ..."),
)

HOST_SCHEMA: pa.Schema = pa.schema([f.arrow() for f in HOST_FIELDS])


def schema_markdown(fields: tuple[Field, ...] = FLOW_FIELDS) -> str:
    """Render a field list as a Markdown table (used for docs/schema.md).

    >>> schema_markdown()[:30]
    '| field | type | nullable | me'
    """
    rows = ["| field | type | nullable | meaning |", "|---|---|---|---|"]
    for f in fields:
        rows.append(f"| `{f.name}` | {f.type} | {'yes' if f.nullable else 'no'} | {f.doc} |")
    return "\n".join(rows)
