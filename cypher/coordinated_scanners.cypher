// Twin of graphflow/analyses/coordinated_scanners.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// Candidates: external, non-whitelisted sources that are no scanner on their own -- on no day
// >= $fanout_min_peers distinct peers of unanswered edges, on no day >= $syn_only_min_flows
// unanswered flows that are also >= $syn_only_min_ratio of its flows, on no (target, day)
// >= $vertical_min_ports distinct ports of low-profile edges -- with their probes:
// low-profile edges (every flow unanswered, or packets <= $max_pkts and bytes <= $max_bytes
// over both directions) to own hosts.
// Groups: the embedded twin computes the group keys in Python (ipaddress); here they come
// from Host properties in pure Cypher, giving the same strings:
//   prefix  the source's network at $prefix_v4 / $prefix_v6 bits, written as Python's
//           str(ipaddress.ip_network(..., strict=False)): IPv4 dotted quad; IPv6 parsed
//           ('::' expanded, a dotted IPv4 tail read as two groups), masked, and written
//           compressed (lower-case hex, leading zeros dropped, the first longest run of two
//           or more zero groups as '::', RFC 5952 as Python does)
//   domain  Host.domain (absent or empty: no group)
//   asn     'AS' + Host.asn (absent or 0: no group)
// $group_by picks one kind or 'all' (an unknown kind selects nothing). A group is reported
// with at least $min_members sources that together reach at least $min_hosts own hosts.
// Figures: members, hosts, overlap (own hosts reached by more than one member), own hosts
// per member, first/last seen, flows. The kind goes into the finding key.
// Parameters: $min_members, $min_hosts, $group_by, $prefix_v4, $prefix_v6,
// $fanout_min_peers, $vertical_min_ports, $syn_only_min_flows, $syn_only_min_ratio,
// $max_pkts, $max_bytes.
MATCH (s:Host)-[r:FLOW]->(d:Host)
WHERE NOT s.own AND NOT coalesce(s.whitelisted, false)
WITH s, r.day AS day, count(DISTINCT CASE WHEN r.failed_flows > 0 THEN d END) AS failed_peers,
     sum(r.failed_flows) AS failed, sum(r.flows) AS flows
WITH s, max(failed_peers) AS failed_peers,
     sum(CASE WHEN failed >= $syn_only_min_flows AND failed >= $syn_only_min_ratio * flows
              THEN 1 ELSE 0 END) AS syn_days
WHERE failed_peers < $fanout_min_peers AND syn_days = 0
CALL (s) {
  OPTIONAL MATCH (s)-[r:FLOW]->(d:Host)
  WHERE r.dst_port IS NOT NULL
    AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
         AND r.src_bytes + r.dst_bytes <= $max_bytes))
  WITH d, r.day AS day, count(DISTINCT r.proto + '/' + toString(r.dst_port)) AS ports
  RETURN coalesce(max(ports), 0) AS vertical
}
WITH s WHERE vertical < $vertical_min_ports
  AND EXISTS {
    MATCH (s)-[r:FLOW]->(o:Host)
    WHERE o.own AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
                     AND r.src_bytes + r.dst_bytes <= $max_bytes))
  }
// the prefix key, IPv4
WITH s, CASE WHEN NOT s.ip CONTAINS ':' THEN
          reduce(n = 0, o IN split(s.ip, '.') | n * 256 + toInteger(o)) END AS v4
WITH s, CASE WHEN v4 IS NOT NULL THEN v4 - v4 % toInteger(2 ^ (32 - $prefix_v4)) END AS net4
// the prefix key, IPv6: eight 16-bit groups
WITH s, net4, CASE WHEN s.ip CONTAINS ':' THEN split(toLower(s.ip), '::') END AS halves
WITH s, net4,
     [half IN halves | reduce(acc = [], g IN CASE WHEN half = '' THEN [] ELSE split(half, ':') END |
        acc + CASE WHEN g CONTAINS '.'
                   THEN [toInteger(split(g, '.')[0]) * 256 + toInteger(split(g, '.')[1]),
                         toInteger(split(g, '.')[2]) * 256 + toInteger(split(g, '.')[3])]
                   ELSE [reduce(n = 0, c IN split(g, '') |
                           n * 16 + size(split('0123456789abcdef', c)[0]))] END)] AS parts
WITH s, net4, CASE WHEN parts IS NOT NULL THEN
       parts[0] + [i IN range(1, 8 - size(parts[0]) - coalesce(size(parts[1]), 0)) | 0]
       + coalesce(parts[1], []) END AS groups
WITH s, net4,
     [i IN range(0, size(coalesce(groups, [])) - 1) |
        groups[i] - groups[i] % toInteger(2 ^ (16 - CASE
          WHEN $prefix_v6 - 16 * i >= 16 THEN 16 WHEN $prefix_v6 - 16 * i <= 0 THEN 0
          ELSE $prefix_v6 - 16 * i END))] AS m
WITH s, net4, m,
     [i IN range(0, size(m) - 1) | head([j IN range(i, 7) WHERE m[j] <> 0] + [8]) - i] AS runs,
     [v IN m | reduce(h = '', k IN [12, 8, 4, 0] | h + CASE WHEN v >= toInteger(2 ^ k) OR k = 0
        THEN substring('0123456789abcdef', (v / toInteger(2 ^ k)) % 16, 1) ELSE '' END)] AS hex
WITH s, net4, m, hex, reduce(b = 0, x IN runs | CASE WHEN x > b THEN x ELSE b END) AS zlen,
     runs
WITH s, net4, m, hex, zlen,
     CASE WHEN zlen > 1 THEN head([i IN range(0, 7) WHERE runs[i] = zlen]) END AS zstart
WITH s, net4, m,
     CASE WHEN zstart IS NULL THEN [hex] ELSE [hex[0..zstart], hex[zstart + zlen..]] END AS sides
WITH s, CASE
       WHEN net4 IS NOT NULL THEN
         toString(net4 / 16777216) + '.' + toString(net4 / 65536 % 256) + '.'
         + toString(net4 / 256 % 256) + '.' + toString(net4 % 256) + '/' + toString($prefix_v4)
       WHEN size(m) = 8 THEN
         reduce(t = '', i IN range(0, size(sides) - 1) |
           t + CASE WHEN i > 0 THEN '::' ELSE '' END
           + CASE WHEN size(sides[i]) = 0 THEN ''
                  ELSE reduce(u = sides[i][0], x IN sides[i][1..] | u + ':' + x) END)
         + '/' + toString($prefix_v6)
     END AS prefix
WITH s, [k IN [['prefix', prefix], ['domain', s.domain],
               ['asn', CASE WHEN s.asn <> 0 THEN 'AS' + toString(s.asn) END]]
         WHERE $group_by IN [k[0], 'all'] AND k[1] IS NOT NULL AND k[1] <> ''] AS keys
MATCH (s)-[r:FLOW]->(o:Host)
WHERE o.own AND (r.failed_flows = r.flows OR (r.src_pkts + r.dst_pkts <= $max_pkts
                 AND r.src_bytes + r.dst_bytes <= $max_bytes))
UNWIND keys AS k
WITH k[0] AS kind, k[1] AS key, s, o, r
WITH kind, key, count(DISTINCT s) AS members, count(DISTINCT o) AS hosts,
     min(r.first_seen) AS first_seen, max(r.last_seen) AS last_seen, sum(r.flows) AS flows,
     collect([s.ip, o.ip]) AS reach
WHERE members >= $min_members AND hosts >= $min_hosts
CALL (reach) {
  UNWIND reach AS x
  WITH x[0] AS member, count(DISTINCT x[1]) AS n
  RETURN collect(member) AS member_ips, collect([member, n]) AS per_member
}
CALL (reach) {
  UNWIND reach AS x
  WITH x[1] AS host, count(DISTINCT x[0]) AS n
  RETURN sum(CASE WHEN n > 1 THEN 1 ELSE 0 END) AS overlap
}
RETURN key AS entity, member_ips AS members, {kind: kind} AS key,
       {group_by: kind, members: members, hosts: hosts, overlap_hosts: overlap,
        first_seen: first_seen, last_seen: last_seen, flows: flows} AS figures,
       {per_member: per_member} AS pairs,
       {coordinated_min_members: $min_members, coordinated_min_hosts: $min_hosts} AS fired
