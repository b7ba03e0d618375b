// Twin of graphflow/analyses/scanner_got_in.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// Probes: low-profile edges (every flow unanswered, or packets <= $max_pkts and bytes <=
// $max_bytes over both directions) from an external, non-whitelisted source to an own host.
// A prober reached at least $min_probed own hosts that way; its first probe of each host is
// the earliest first_seen of those edges. Sessions: answered, not low-profile edges between a
// prober and a host it probed, either direction, starting after that host's first probe.
// One finding per prober with sessions: hosts probed, first probe, the hosts with sessions
// (members), the first session (earliest first_seen; ties by source, target, port and proto,
// as the embedded twin orders them), and the flows and bytes of all its sessions.
// Parameters: $min_probed, $max_pkts, $max_bytes.
MATCH (s:Host)-[r:FLOW]->(o:Host)
WHERE NOT s.own AND NOT coalesce(s.whitelisted, false) AND o.own
  AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
       AND r.src_bytes + r.dst_bytes <= $max_bytes))
WITH s, o, min(r.first_seen) AS t0
WITH s, collect({host: o, t0: t0}) AS probed, min(t0) AS first_probe
WHERE size(probed) >= $min_probed
UNWIND probed AS fp
WITH s, size(probed) AS probed, first_probe, fp.host AS o, fp.t0 AS t0
MATCH (s)-[r:FLOW]-(o)
WHERE r.failed_flows < r.flows
  AND NOT (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
           AND r.src_bytes + r.dst_bytes <= $max_bytes))
  AND r.first_seen > t0
WITH s, probed, first_probe, o, r
ORDER BY r.first_seen, startNode(r).ip, endNode(r).ip, r.dst_port, r.proto
WITH s, probed, first_probe,
     collect({host: o.ip, day: r.day, port: r.dst_port, proto: r.proto}) AS sessions,
     collect(DISTINCT o.ip) AS hosts, sum(r.flows) AS flows,
     sum(r.src_bytes + r.dst_bytes) AS bytes
WITH s, probed, first_probe, sessions[0] AS first, hosts, flows, bytes
RETURN s.ip AS entity, hosts AS members,
       {probed_hosts: probed, first_probe: first_probe, session_host: first.host,
        session_day: first.day, session_port: first.port, session_proto: first.proto,
        session_flows: flows, session_bytes: bytes} AS figures,
       {got_in_min_probed_hosts: $min_probed} AS fired
