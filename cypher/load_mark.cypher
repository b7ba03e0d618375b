// Load marker: part ('hosts', 'edges/2026-03-02') fully written from files with $fingerprint.
// Written after the part's last batch committed; see cypher/schema.cypher.
MERGE (m:GraphFlowLoad {part: $part})
SET m.fingerprint = $fingerprint, m.rows = $rows, m.workspace = $workspace,
    m.loaded_at = datetime()
