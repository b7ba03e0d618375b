// The load markers (read-only): which parts of which workspace the graph holds, and when
// they were loaded. Used by the loader to skip complete parts; see cypher/schema.cypher.
MATCH (m:GraphFlowLoad)
RETURN m.part AS part, m.fingerprint AS fingerprint, m.rows AS rows,
       m.workspace AS workspace, m.loaded_at AS loaded_at
ORDER BY part
