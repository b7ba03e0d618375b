// Batched, idempotent write of Host nodes (graphflow.stores.neo4j.load_workspace).
// $rows: [{ip, props}], props holding every host attribute (null removes a stale one).
// Re-running it with the same rows changes nothing.
UNWIND $rows AS row
MERGE (h:Host {ip: row.ip})
SET h += row.props
RETURN count(h) AS written
