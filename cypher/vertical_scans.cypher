// Twin of graphflow/analyses/vertical_scans.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// Per (source, target, day): the distinct TCP/UDP/SCTP destination ports of the edges that
// $count selects ('failed': some flow unanswered; 'low': every flow unanswered, or tiny over
// both directions; 'all'); a (target, day) with at least $min_ports of them is flagged.
// One finding per source over its flagged (target, day)s: the top one (most ports, then the
// latest day, then the lowest target address as a string), the targets (members), flows and
// failed flows. Whitelisted sources are left out. Parameters: $min_ports, $count,
// $max_pkts, $max_bytes (an unknown $count selects nothing).
MATCH (s:Host)-[r:FLOW]->(d:Host)
WHERE NOT coalesce(s.whitelisted, false) AND r.proto IN ['tcp', 'udp', 'sctp']
  AND r.dst_port IS NOT NULL
  AND CASE $count
        WHEN 'failed' THEN r.failed_flows > 0
        WHEN 'low' THEN r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
                        AND r.src_bytes + r.dst_bytes <= $max_bytes)
        WHEN 'all' THEN true
      END
WITH s, d.ip AS target, r.day AS day,
     count(DISTINCT r.proto + '/' + toString(r.dst_port)) AS ports,
     sum(r.flows) AS flows, sum(r.failed_flows) AS failed
WHERE ports >= $min_ports
WITH s, target, day, ports, flows, failed ORDER BY ports DESC, day DESC, target
WITH s, collect({target: target, day: day, ports: ports}) AS hits,
     collect(DISTINCT target) AS targets, sum(flows) AS flows, sum(failed) AS failed
WITH s, hits[0] AS top, targets, flows, failed
RETURN s.ip AS entity, targets AS members,
       {max_ports_on_target: top.ports, target: top.target, day: top.day,
        targets: size(targets), flows: flows, failed: failed} AS figures,
       {vertical_min_ports: $min_ports} AS fired
