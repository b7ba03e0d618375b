// GraphFlow graph model in Neo4j (the same hosts and edges as the embedded store).
//
// (:Host {ip, own, hva, role, name, country, asn, as_org, dns, address_class})
// (:Host)-[:FLOW {day, dst_port, proto, flows, src_bytes, dst_bytes, src_pkts, dst_pkts,
//                 first_seen, last_seen, s0_flows, rej_flows, syn_only_flows}]->(:Host)
// One FLOW relationship per row of the edge model: (day, src_ip, dst_ip, dst_port, proto).
// The loader and the analyses arrive with the Neo4j issue.
CREATE CONSTRAINT host_ip IF NOT EXISTS FOR (h:Host) REQUIRE h.ip IS UNIQUE;
CREATE INDEX flow_key IF NOT EXISTS FOR ()-[r:FLOW]-() ON (r.day, r.dst_port, r.proto);
