// Batched, idempotent write of FLOW relationships, one per edge-model row
// (graphflow.stores.neo4j.load_workspace). Parameters are columns, one list per field,
// all of the same length: $key, $src_ip, $dst_ip and every edge figure; $day is the one day of
// every row of the batch (the loader writes day by day). Columns rather than a list of maps:
// the driver packs a dozen lists far faster than thousands of small maps. first_seen and
// last_seen come as integer microseconds since the epoch and are stored as DateTime (UTC).
// MERGE on the unique relationship key, then SET absolute values: loading the same rows
// again, or again after a partial load, leaves every count and sum exactly as it was.
// Both hosts exist already (hosts are loaded first); `written` lets the loader check it.
// Every edge field is named here (tests/neo4j/test_model.py checks it against EDGE_FIELDS).
UNWIND range(0, size($key) - 1) AS i
MATCH (s:Host {ip: $src_ip[i]})
MATCH (d:Host {ip: $dst_ip[i]})
MERGE (s)-[r:FLOW {key: $key[i]}]->(d)
SET r += {
  day: $day, dst_port: $dst_port[i], proto: $proto[i], flows: $flows[i],
  src_bytes: $src_bytes[i], dst_bytes: $dst_bytes[i], src_pkts: $src_pkts[i],
  dst_pkts: $dst_pkts[i],
  first_seen: datetime({epochSeconds: $first_seen[i] / 1000000,
                        nanosecond: $first_seen[i] % 1000000 * 1000}),
  last_seen: datetime({epochSeconds: $last_seen[i] / 1000000,
                       nanosecond: $last_seen[i] % 1000000 * 1000}),
  s0_flows: $s0_flows[i], rej_flows: $rej_flows[i], failed_flows: $failed_flows[i],
  syn_only_flows: $syn_only_flows[i]
}
RETURN count(r) AS written
