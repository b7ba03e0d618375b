// Twin of graphflow/analyses/top_talkers.py, over the same graph model; returns the findings
// (see graphflow/analyses/neo4j_backend.py for the row contract).
// Over the last $window_days days of the data (current) and the same span before it
// (previous): per ranking and host, the value in each window; rank in the current window
// (1 + the hosts with a higher value, as SQL's rank()), ranks up to $top_n kept (ties
// included). Rankings: bytes_out (bytes a host sent
// as originator), bytes_in (bytes originators sent to it), outbound_bytes and outbound_flows
// (own hosts to external peers); $ranking is one of them or 'all'. Whitelisted sources are
// left out.
MATCH ()-[r0:FLOW]->()
WITH max(r0.day) AS last
MATCH (s:Host)-[r:FLOW]->(d:Host)
WHERE r.day > last - duration({days: 2 * $window_days}) AND NOT coalesce(s.whitelisted, false)
WITH s, d, r, r.day > last - duration({days: $window_days}) AS current
UNWIND [x IN ['bytes_out', 'bytes_in', 'outbound_bytes', 'outbound_flows']
        WHERE $ranking IN ['all', x]] AS ranking
WITH ranking, s, d, r, current
WHERE ranking IN ['bytes_out', 'bytes_in'] OR (s.own AND NOT d.own)
WITH ranking, CASE ranking WHEN 'bytes_in' THEN d.ip ELSE s.ip END AS ip, current,
     CASE ranking WHEN 'outbound_bytes' THEN r.src_bytes + r.dst_bytes
                  WHEN 'outbound_flows' THEN r.flows ELSE r.src_bytes END AS value
WITH ranking, ip, sum(CASE WHEN current THEN value ELSE 0 END) AS value,
     sum(CASE WHEN current THEN 0 ELSE value END) AS previous,
     count(CASE WHEN current THEN 1 END) AS n_current
WHERE n_current > 0
WITH ranking, value, collect({ip: ip, value: value, previous: previous}) AS tied
WITH ranking, value, tied ORDER BY value DESC
// the values in order, each with its hosts; only the first $top_n values can hold a rank
// <= $top_n, the rank of a value's hosts being 1 + the hosts of the values before it
WITH ranking, collect(tied)[..$top_n] AS groups
UNWIND range(0, size(groups) - 1) AS j
WITH ranking, groups[j] AS tied, 1 + reduce(s = 0, g IN groups[..j] | s + size(g)) AS rank
WHERE rank <= $top_n
UNWIND tied AS h
WITH ranking, h, rank, 1000 * (h.value - h.previous) AS n, h.previous AS d
// change_pct rounded half-even on the exact integer ratio n/d (as common.rounded_ratio)
WITH ranking, h, rank, n, d,
     CASE WHEN n >= 0 OR d = 0 THEN n / CASE d WHEN 0 THEN 1 ELSE d END
          ELSE -((d - 1 - n) / d) END AS f
RETURN h.ip AS entity, {ranking: ranking} AS key,
       {ranking: ranking, rank: rank, value: h.value, previous: h.previous,
        change: h.value - h.previous,
        change_pct: CASE WHEN d = 0 THEN null
                         ELSE toFloat(f + CASE WHEN 2 * (n - f * d) > d
                                                    OR (2 * (n - f * d) = d AND f % 2 <> 0)
                                               THEN 1 ELSE 0 END) / 10 END,
        window_days: $window_days} AS figures,
       {top_n: $top_n} AS fired
