// Twin of graphflow/analyses/syn_only_scans.py, over the same graph model.
// Per source and day: unanswered flows against all flows; days where both thresholds fire,
// then the targets and ports of those days' unanswered edges. Parameters: $min_flows,
// $min_ratio. Whitelisted sources are left out.
MATCH (s:Host)-[r:FLOW]->(:Host)
WHERE NOT coalesce(s.whitelisted, false)
WITH s, r.day AS day, sum(r.failed_flows) AS failed, sum(r.flows) AS flows
WHERE failed >= $min_flows AND failed >= $min_ratio * flows
WITH s, collect({day: day, failed: failed, flows: flows}) AS days
MATCH (s)-[r:FLOW]->(d:Host)
WHERE r.failed_flows > 0 AND r.day IN [x IN days | x.day]
RETURN s.ip AS entity, days, count(DISTINCT d.ip) AS targets,
       count(DISTINCT r.proto + '/' + coalesce(toString(r.dst_port), '-')) AS ports
ORDER BY entity
