// Twin of graphflow/analyses/top_scanners.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// The low-traffic rows (as cypher/low_traffic.cypher: per day and (external, non-whitelisted
// peer, own host, own port, proto), kept when packets <= $max_pkts and bytes <= $max_bytes
// over both directions) are ranked by $ranking ('widest', 'scanned', 'active' or 'all'):
//   widest   remote peers by the distinct own hosts they reached  (figure own_hosts)
//   scanned  own hosts by the distinct peers that reached them    (figure peers)
//   active   remote peers by their distinct (own host, day)s      (figure contacts)
// Ranked by value, highest first, ties sharing a rank (rank = 1 + the number of entities with
// a higher value, as SQL's rank()), kept when rank <= $top_n. Members: the hosts on the other side. The ranking goes into the
// finding key. Parameters: $max_pkts, $max_bytes, $top_n, $ranking (an unknown ranking
// selects nothing).
MATCH (p:Host)-[r:FLOW]->(o:Host)
WHERE o.own AND NOT p.own AND NOT coalesce(p.whitelisted, false)
WITH r.day AS day, p.ip AS peer, o.ip AS own_ip, r.dst_port AS port, r.proto AS proto,
     sum(r.src_pkts + r.dst_pkts) AS pkts, sum(r.src_bytes + r.dst_bytes) AS bytes
WHERE pkts <= $max_pkts AND bytes <= $max_bytes
UNWIND [x IN ['widest', 'scanned', 'active'] WHERE $ranking IN [x, 'all']] AS ranking
WITH ranking,
     CASE ranking WHEN 'scanned' THEN own_ip ELSE peer END AS entity,
     CASE ranking WHEN 'scanned' THEN peer ELSE own_ip END AS other,
     CASE ranking WHEN 'active' THEN own_ip + '|' + toString(day)
                  WHEN 'scanned' THEN peer ELSE own_ip END AS counted
WITH ranking, entity, count(DISTINCT counted) AS value, collect(DISTINCT other) AS members
WITH ranking, value, collect({entity: entity, value: value, members: members}) AS tied
WITH ranking, collect({value: value, n: size(tied), tied: tied}) AS groups
UNWIND groups AS g
WITH ranking, g,
     1 + reduce(s = 0, h IN groups | s + CASE WHEN h.value > g.value THEN h.n ELSE 0 END) AS rank
WHERE rank <= $top_n
UNWIND g.tied AS e
RETURN e.entity AS entity, e.members AS members, {ranking: ranking} AS key,
       CASE ranking
         WHEN 'widest' THEN {ranking: ranking, rank: rank, own_hosts: e.value}
         WHEN 'scanned' THEN {ranking: ranking, rank: rank, peers: e.value}
         ELSE {ranking: ranking, rank: rank, contacts: e.value}
       END AS figures,
       {top_n: $top_n, scanner_max_pkts: $max_pkts, scanner_max_bytes: $max_bytes} AS fired
