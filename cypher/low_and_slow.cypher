// Twin of graphflow/analyses/low_and_slow.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// External, non-whitelisted sources that stay under every per-day scan threshold on every
// day -- distinct peers of unanswered edges < $fanout_min_peers, unanswered flows <
// $syn_only_min_flows, distinct ports on one target (low-profile edges with a port) <
// $vertical_min_ports -- and are active on at least $min_days days; of those, the ones whose
// low-profile edges (every flow unanswered, or packets <= $max_pkts and bytes <= $max_bytes
// over both directions) reach at least $min_hosts distinct own hosts over the period.
// Figures over those edges: own hosts, days, span in days (last_seen - first_seen, from
// microseconds, rounded to 2 places; Cypher's round() goes half-up on the shortest decimal
// form, Python's on the exact double, which differ only for a span whose shortest form ends
// in 5 at the third place), first/last seen, flows, own hosts per day.
// Parameters: $min_days, $min_hosts, $fanout_min_peers, $syn_only_min_flows,
// $vertical_min_ports, $max_pkts, $max_bytes.
MATCH (s:Host)-[r:FLOW]->(d:Host)
WHERE NOT s.own AND NOT coalesce(s.whitelisted, false)
WITH s, r.day AS day, count(DISTINCT CASE WHEN r.failed_flows > 0 THEN d END) AS failed_peers,
     sum(r.failed_flows) AS failed
WITH s, max(failed_peers) AS failed_peers, max(failed) AS failed, count(day) AS days
WHERE failed_peers < $fanout_min_peers AND failed < $syn_only_min_flows AND days >= $min_days
CALL (s) {
  OPTIONAL MATCH (s)-[r:FLOW]->(d:Host)
  WHERE r.dst_port IS NOT NULL
    AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
         AND r.src_bytes + r.dst_bytes <= $max_bytes))
  WITH d, r.day AS day, count(DISTINCT r.proto + '/' + toString(r.dst_port)) AS ports
  RETURN coalesce(max(ports), 0) AS vertical
}
WITH s WHERE vertical < $vertical_min_ports
MATCH (s)-[r:FLOW]->(o:Host)
WHERE o.own AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
                 AND r.src_bytes + r.dst_bytes <= $max_bytes))
WITH s, count(DISTINCT o) AS hosts, count(DISTINCT r.day) AS days,
     min(r.first_seen) AS first_seen, max(r.last_seen) AS last_seen, sum(r.flows) AS flows,
     collect([r.day, o]) AS day_host
WHERE hosts >= $min_hosts
CALL (day_host) {
  UNWIND day_host AS x
  WITH x[0] AS day, count(DISTINCT x[1]) AS n
  RETURN collect([day, n]) AS per_day, max(n) AS max_per_day
}
WITH s, hosts, days, first_seen, last_seen, flows, per_day, max_per_day,
     (last_seen.epochSeconds - first_seen.epochSeconds) * 1000000
     + last_seen.microsecond - first_seen.microsecond AS span_us
RETURN s.ip AS entity,
       {own_hosts: hosts, days_active: days,
        span_days: round(toFloat(span_us) / 1000000 / 86400, 2),
        first_seen: first_seen, last_seen: last_seen, flows: flows,
        max_hosts_per_day: max_per_day} AS figures,
       {hosts_per_day: per_day} AS pairs,
       {low_and_slow_min_days: $min_days, low_and_slow_min_hosts: $min_hosts} AS fired,
       {below_every_day: {fanout_min_peers: $fanout_min_peers,
                          syn_only_min_flows: $syn_only_min_flows,
                          vertical_min_ports: $vertical_min_ports}} AS evidence
