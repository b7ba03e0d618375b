// Twin of graphflow/analyses/low_traffic.py, over the same graph model.
// Per day and (external peer, own host, own port): the flows the peer originated, packets and
// bytes over both directions, kept when tiny. Parameters: $max_pkts, $max_bytes.
MATCH (p:Host)-[r:FLOW]->(o:Host)
WHERE o.own AND NOT p.own AND NOT coalesce(p.whitelisted, false)
WITH r.day AS day, p.ip AS peer, o.ip AS own_ip, r.dst_port AS port, r.proto AS proto,
     sum(r.flows) AS flows, sum(r.src_pkts + r.dst_pkts) AS pkts,
     sum(r.src_bytes + r.dst_bytes) AS bytes
WHERE pkts <= $max_pkts AND bytes <= $max_bytes
RETURN day, peer, own_ip, port, proto, flows, pkts, bytes
ORDER BY peer, own_ip, day, port
