// Twin of graphflow/analyses/vertical_scans.py (count = low), over the same graph model.
// Per (source, target, day): distinct TCP/UDP/SCTP ports of low-profile edges (every flow
// unanswered, or tiny over both directions). Parameters: $min_ports, $max_pkts, $max_bytes.
MATCH (s:Host)-[r:FLOW]->(d:Host)
WHERE NOT coalesce(s.whitelisted, false) AND r.proto IN ['tcp', 'udp', 'sctp']
  AND r.dst_port IS NOT NULL
  AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
       AND r.src_bytes + r.dst_bytes <= $max_bytes))
WITH s.ip AS entity, d.ip AS target, r.day AS day,
     count(DISTINCT r.proto + '/' + toString(r.dst_port)) AS ports,
     sum(r.flows) AS flows, sum(r.failed_flows) AS failed
WHERE ports >= $min_ports
RETURN entity, target, day, ports, flows, failed
ORDER BY entity, target, day
