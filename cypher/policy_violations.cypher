// Twin of graphflow/analyses/policy_violations.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// The inventory's policies are in the graph (loaded with the hosts, see cypher/schema.cypher):
// Host.policy names the governing (:Policy), Host.peer_tags the rule peers the address
// satisfies, Host.bogon / Host.outside_ranges the other two checks; (:PolicyRule) the port
// rules, defaults merged in. Per (source, destination, protocol, port) of the edges:
//   outbound / inbound   answered flows no rule of the originator's outbound (responder's
//                        inbound) policy allows, when that direction has port rules;
//   country_outbound / country_inbound   answered flows with a peer country the policy
//                        denies or does not allow;
//   non_routable         own host <-> external non-routable address, every flow;
//   outside_ranges       own host outside every declared range, every flow.
// One finding per (kind, host at fault); the host is the originator for the port and
// country kinds, the own side for the others. Parameters: $icmp (protocol names an icmp
// rule matches), $bogon and $ranges (the fixed rule texts).
MATCH (s:Host)-[r:FLOW]->(d:Host)
WITH s, d, r.proto AS proto, r.dst_port AS port,
     sum(r.flows - r.failed_flows) AS answered, sum(r.flows) AS total
OPTIONAL MATCH (sp:Policy {key: s.policy})
OPTIONAL MATCH (dp:Policy {key: d.policy})
WITH s, d, proto, port, answered, total, sp, dp,
     CASE WHEN port IS NULL THEN proto ELSE proto + '/' + toString(port) END AS label
UNWIND [
  CASE WHEN answered > 0 AND sp.out_constrained AND NOT EXISTS {
      MATCH (x:PolicyRule {policy: sp.key, direction: 'outbound'})
      WHERE x.peer IN d.peer_tags
        AND (x.proto = '*' OR (x.proto = 'icmp' AND proto IN $icmp)
             OR (x.proto = proto AND (x.low = -1 OR (port IS NOT NULL
                                                     AND x.low <= port <= x.high)))) }
       THEN {kind: 'outbound', host: s, peer: d, flows: answered, subject: sp.subject,
             rule: sp.out_rule} END,
  CASE WHEN answered > 0 AND dp.in_constrained AND NOT EXISTS {
      MATCH (x:PolicyRule {policy: dp.key, direction: 'inbound'})
      WHERE x.peer IN s.peer_tags
        AND (x.proto = '*' OR (x.proto = 'icmp' AND proto IN $icmp)
             OR (x.proto = proto AND (x.low = -1 OR (port IS NOT NULL
                                                     AND x.low <= port <= x.high)))) }
       THEN {kind: 'inbound', host: s, peer: d, flows: answered, subject: dp.subject,
             rule: dp.in_rule} END,
  CASE WHEN answered > 0 AND sp.out_countries AND d.country IS NOT NULL
            AND (d.country IN coalesce(sp.out_deny, [])
                 OR (sp.out_allow IS NOT NULL AND NOT d.country IN sp.out_allow))
       THEN {kind: 'country_outbound', host: s, peer: d, flows: answered,
             subject: sp.subject,
             rule: sp.subject + ' outbound: peer country ' + d.country + ' not permitted'}
  END,
  CASE WHEN answered > 0 AND dp.in_countries AND s.country IS NOT NULL
            AND (s.country IN coalesce(dp.in_deny, [])
                 OR (dp.in_allow IS NOT NULL AND NOT s.country IN dp.in_allow))
       THEN {kind: 'country_inbound', host: s, peer: d, flows: answered, subject: dp.subject,
             rule: dp.subject + ' inbound: peer country ' + s.country + ' not permitted'}
  END,
  CASE WHEN 'internal' IN s.peer_tags AND d.bogon
       THEN {kind: 'non_routable', host: s, peer: d, flows: total, subject: 'non_routable',
             rule: $bogon} END,
  CASE WHEN 'internal' IN d.peer_tags AND s.bogon
       THEN {kind: 'non_routable', host: d, peer: s, flows: total, subject: 'non_routable',
             rule: $bogon} END,
  CASE WHEN s.outside_ranges
       THEN {kind: 'outside_ranges', host: s, peer: d, flows: total, subject: 'ranges',
             rule: $ranges} END,
  CASE WHEN d.outside_ranges
       THEN {kind: 'outside_ranges', host: d, peer: s, flows: total, subject: 'ranges',
             rule: $ranges} END
] AS v
WITH v, label WHERE v IS NOT NULL
WITH v.kind AS kind, v.host AS host, sum(v.flows) AS flows, min(v.rule) AS rule,
     collect(DISTINCT v.peer) AS peers, collect(DISTINCT label) AS ports,
     collect(DISTINCT [v.rule, v.subject]) AS rules
RETURN host.ip AS entity, [p IN peers | p.ip] AS members, {kind: kind} AS key,
       {kind: kind, rule: rule, subject: [x IN rules WHERE x[0] = rule][0][1], flows: flows,
        peers: COLLECT { UNWIND peers AS p RETURN p.ip ORDER BY p.ip_key },
        ports: COLLECT { UNWIND ports AS x RETURN x ORDER BY x }} AS figures,
       {rule: rule} AS fired
