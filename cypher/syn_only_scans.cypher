// Twin of graphflow/analyses/syn_only_scans.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// Per source and day: unanswered flows against all flows; days where both thresholds fire,
// then the targets and ports of those days' unanswered edges. Parameters: $min_flows,
// $min_ratio. Whitelisted sources are left out.
MATCH (s:Host)-[r:FLOW]->(:Host)
WHERE NOT coalesce(s.whitelisted, false)
WITH s, r.day AS day, sum(r.failed_flows) AS failed, sum(r.flows) AS flows
WHERE failed >= $min_flows AND failed >= $min_ratio * flows
WITH s, day, failed, flows ORDER BY failed DESC, day DESC
WITH s, collect({day: day, failed: failed, flows: flows}) AS days
MATCH (s)-[r:FLOW]->(d:Host)
WHERE r.failed_flows > 0 AND r.day IN [x IN days | x.day]
WITH s, days, count(DISTINCT d.ip) AS targets,
     count(DISTINCT r.proto + '/' + coalesce(toString(r.dst_port), '-')) AS ports
WITH s, days, targets, ports, days[0] AS top
RETURN s.ip AS entity,
       {failed: reduce(n = 0, x IN days | n + x.failed), day: top.day,
        max_failed_per_day: top.failed, ratio: round(toFloat(top.failed) / top.flows, 4),
        days: size(days), targets: targets, ports: ports} AS figures,
       {failed_per_day: [x IN days | [x.day, x.failed]]} AS pairs,
       {syn_only_min_flows: $min_flows, syn_only_min_ratio: $min_ratio} AS fired
