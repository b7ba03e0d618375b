// Twin of graphflow/analyses/low_traffic.py, over the same graph model; returns the findings
// (see graphflow/analyses/neo4j_backend.py for the row contract).
// Per day and (external peer, own host, own port, protocol): the flows the peer originated,
// packets and bytes over both directions, kept when tiny; one finding per row, with the
// peer's country, city, ASN and DNS names. Parameters: $max_pkts, $max_bytes ($order is
// applied by the finding order). Whitelisted peers are left out.
MATCH (p:Host)-[r:FLOW]->(o:Host)
WHERE o.own AND NOT p.own AND NOT coalesce(p.whitelisted, false)
WITH r.day AS day, p, o.ip AS own_ip, r.dst_port AS port, r.proto AS proto,
     sum(r.flows) AS flows, sum(r.src_pkts + r.dst_pkts) AS pkts,
     sum(r.src_bytes + r.dst_bytes) AS bytes
WHERE pkts <= $max_pkts AND bytes <= $max_bytes
RETURN p.ip AS entity, [own_ip] AS members,
       {day: day, own_ip: own_ip, port: port, proto: proto} AS key,
       {day: day, own_ip: own_ip, port: port, proto: proto, flows: flows, pkts: pkts,
        bytes: bytes, country: p.country, city: p.city, asn: p.asn, as_org: p.as_org,
        dns: coalesce(p.dns, [])} AS figures,
       {low_traffic_max_pkts: $max_pkts, low_traffic_max_bytes: $max_bytes} AS fired
