// GraphFlow graph model in Neo4j: the same hosts and edges as the embedded store.
//
// (:Host {ip, ip_version, own, hva, role, name, owner, criticality, whitelisted, country,
//         country_name, city, asn, as_org, dns, domain, address_class})
//     One node per address: the hosts table (graphflow/schema.py HOST_FIELDS) when the
//     workspace has one, else every address seen in the edges with `ip` only. Null
//     attributes are absent properties; `dns` is a list of strings, `asn` an integer.
//     Derived at load time (graphflow.stores.neo4j._host_extras): `ip_key`, text that sorts
//     like the address numerically (IPv4 first), for ORDER BY; and, when the workspace has an
//     inventory, the policy properties of graphflow.analyses.policy_violations.policy_model:
//     `policy` (key of the governing (:Policy), absent if none), `peer_tags` (the rule peer
//     specifications the address satisfies: 'any', 'internal'/'external', 'role:NAME', and
//     any CIDR/set/asset a rule names), `bogon` (external and non-routable),
//     `outside_ranges` (own, outside every declared DHCP/static range).
//
// (:Host)-[:FLOW {key, day, dst_port, proto, flows, src_bytes, dst_bytes, src_pkts, dst_pkts,
//                 first_seen, last_seen, s0_flows, rej_flows, failed_flows,
//                 syn_only_flows}]->(:Host)
//     One FLOW relationship per row of the edge model (graphflow/schema.py EDGE_FIELDS),
//     from the originator (src_ip) to the responder (dst_ip):
//       key             'day|src_ip|dst_ip|dst_port|proto' (dst_port empty when null): the
//                       edge model's key in one string, unique, what the idempotent MERGE
//                       matches on
//       day             Date (UTC day of the flows' start times)
//       dst_port        Integer, absent for protocols without ports
//       proto           String, lower case
//       flows, src_bytes, dst_bytes, src_pkts, dst_pkts, s0_flows, rej_flows,
//       failed_flows, syn_only_flows   Integer (the edge model's figures, same names)
//       first_seen, last_seen   DateTime (UTC)
//
// (:GraphFlowLoad {part, fingerprint, rows, loaded_at})
//     Load markers: one per loaded part ('hosts', 'edges/2026-03-02', ...) with a
//     fingerprint of the workspace files it came from, written after the part's last
//     batch committed. A rerun skips parts whose fingerprint is unchanged; a part without
//     a marker (e.g. cut short by SIGKILL) is simply written again, and since every write
//     is a MERGE on a key that SETs absolute values, the result is exact.
//
// (:Policy {key, subject, in_constrained, in_rule, in_countries, in_allow, in_deny,
//          out_constrained, out_rule, out_countries, out_allow, out_deny})
// (:PolicyRule {policy, direction, proto, low, high, peer})
//     The inventory's policies (one per key a Host.policy names) and their port rules with
//     the defaults merged in (proto '*' any, low/high -1 any port), written with the hosts
//     by cypher/load_policies.cypher; read by cypher/policy_violations.cypher.
//
// (:IpSet {name})<-[:IN_SET]-(:Host)
//     Every named IP set of the workspace (own, hva, whitelist, inventory roles, saved CIDR
//     lists and analysis results), written with the hosts by
//     graphflow.stores.neo4j.write_ip_sets: MATCH (h:Host)-[:IN_SET]->(:IpSet {name: $set}).
//
// Statements are separated by ';' at the end of a line; applied by
// graphflow.stores.neo4j.ensure_schema (every statement is IF NOT EXISTS).
CREATE CONSTRAINT host_ip IF NOT EXISTS FOR (h:Host) REQUIRE h.ip IS UNIQUE;
CREATE CONSTRAINT flow_key IF NOT EXISTS FOR ()-[r:FLOW]-() REQUIRE r.key IS UNIQUE;
CREATE INDEX flow_day IF NOT EXISTS FOR ()-[r:FLOW]-() ON (r.day);
CREATE INDEX flow_port IF NOT EXISTS FOR ()-[r:FLOW]-() ON (r.dst_port, r.proto);
CREATE INDEX host_own IF NOT EXISTS FOR (h:Host) ON (h.own);
CREATE INDEX host_asn IF NOT EXISTS FOR (h:Host) ON (h.asn);
CREATE INDEX host_country IF NOT EXISTS FOR (h:Host) ON (h.country);
CREATE CONSTRAINT load_part IF NOT EXISTS FOR (m:GraphFlowLoad) REQUIRE m.part IS UNIQUE;
CREATE CONSTRAINT ipset_name IF NOT EXISTS FOR (s:IpSet) REQUIRE s.name IS UNIQUE;
CREATE CONSTRAINT policy_key IF NOT EXISTS FOR (p:Policy) REQUIRE p.key IS UNIQUE;
CREATE INDEX policy_rule IF NOT EXISTS FOR (r:PolicyRule) ON (r.policy, r.direction);
