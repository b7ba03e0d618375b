// Twin of graphflow/analyses/fanout_scanners.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// Contacts: each FLOW seen from its source (peer = target) and, with $direction = 'both',
// also from its target (peer = source), exactly as the embedded UNION ALL (a self-loop is
// then a contact twice). Per (host, day) -- and per destination port with $per_port -- the
// distinct peers of the contacts that $count selects ('failed': some flow unanswered; 'low':
// every flow unanswered, or tiny over both directions; 'all'); a group is flagged when it has
// at least $min_peers of them and they are at least $min_share of all the peers the host had
// that day. One finding per host over the contacts of its flagged groups: distinct peers,
// the day with most peers (then the latest), days, ports, flows (failed flows with
// count = 'failed') and peers per day. Whitelisted hosts are left out.
// Parameters: $min_peers, $min_share, $count, $direction, $per_port, $max_pkts, $max_bytes
// (an unknown $count or $direction selects nothing).
MATCH (a:Host)-[r:FLOW]->(b:Host)
WHERE CASE $count
        WHEN 'failed' THEN r.failed_flows > 0
        WHEN 'low' THEN r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
                        AND r.src_bytes + r.dst_bytes <= $max_bytes)
        WHEN 'all' THEN true
      END
UNWIND CASE $direction WHEN 'out' THEN [[a, b]] WHEN 'both' THEN [[a, b], [b, a]]
                       ELSE [] END AS contact
WITH contact[0] AS h, contact[1] AS peer, r
WHERE NOT coalesce(h.whitelisted, false)
WITH h, r.day AS day,
     CASE WHEN $per_port THEN r.proto + '/' + coalesce(toString(r.dst_port), '-') END AS port,
     count(DISTINCT peer) AS peers
WHERE peers >= $min_peers
// every peer of the host that day, whatever the contact
CALL (h, day) {
  MATCH (h)-[r:FLOW]->(p:Host) WHERE r.day = day RETURN p
  UNION
  MATCH (h)<-[r:FLOW]-(p:Host) WHERE $direction = 'both' AND r.day = day RETURN p
}
WITH h, day, port, peers, count(DISTINCT p) AS everyone
WHERE peers >= $min_share * everyone
// the contacts of the flagged groups
CALL (h, day, port) {
  MATCH (h)-[r:FLOW]->(p:Host) WHERE r.day = day RETURN r, p
  UNION ALL
  MATCH (h)<-[r:FLOW]-(p:Host) WHERE $direction = 'both' AND r.day = day RETURN r, p
}
WITH h, day, port, r, p
WHERE CASE $count
        WHEN 'failed' THEN r.failed_flows > 0
        WHEN 'low' THEN r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
                        AND r.src_bytes + r.dst_bytes <= $max_bytes)
        WHEN 'all' THEN true
      END
  AND (port IS NULL OR port = r.proto + '/' + coalesce(toString(r.dst_port), '-'))
WITH h, count(DISTINCT p) AS peers, count(DISTINCT day) AS days,
     count(DISTINCT r.proto + '/' + coalesce(toString(r.dst_port), '-')) AS ports,
     sum(CASE WHEN $count = 'failed' THEN r.failed_flows ELSE r.flows END) AS flows,
     collect([day, p]) AS day_peer
CALL (day_peer) {
  UNWIND day_peer AS x
  WITH x[0] AS day, count(DISTINCT x[1]) AS n ORDER BY n DESC, day DESC
  RETURN collect([day, n]) AS per_day
}
RETURN h.ip AS entity,
       {peers: peers, max_peers_per_day: per_day[0][1], day: per_day[0][0], days: days,
        ports: ports, flows: flows} AS figures,
       {peers_per_day: per_day} AS pairs,
       {fanout_min_peers: $min_peers, fanout_min_failed_share: $min_share} AS fired
