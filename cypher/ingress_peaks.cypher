// Twin of graphflow/analyses/ingress_peaks.py, over the same graph model; returns the findings
// (see graphflow/analyses/neo4j_backend.py for the row contract).
// Ingress of an own host on a day: bytes external peers sent it (src_bytes of their flows to
// it, dst_bytes of its flows to them). Hosts whose top day (earliest on a tie) is at least
// $min_bytes and at least $factor times the second-highest day and than the same weekday of
// earlier weeks; figures as the embedded twin, with the $top_n senders of the peak day
// (bytes, then address numerically).
MATCH (o:Host {own: true})-[r:FLOW]-(:Host {own: false})
WITH o, r.day AS day,
     sum(CASE WHEN startNode(r) = o THEN r.dst_bytes ELSE r.src_bytes END) AS bytes
WITH o, day, bytes ORDER BY bytes DESC, day ASC
WITH o, collect({day: day, bytes: bytes}) AS days
WHERE days[0].bytes >= $min_bytes
WITH o, days, days[0] AS peak, CASE WHEN size(days) > 1 THEN days[1].bytes ELSE 0 END AS second
WITH o, days, peak, second,
     reduce(m = 0, d IN days |
            CASE WHEN d.day < peak.day AND duration.inDays(d.day, peak.day).days % 7 = 0
                      AND d.bytes > m THEN d.bytes ELSE m END) AS weekly
WHERE NOT (second > 0 AND peak.bytes < $factor * second)
  AND NOT (weekly > 0 AND peak.bytes < $factor * weekly)
WITH o, days, peak, second, weekly, COLLECT {
    MATCH (o)-[r:FLOW]-(x:Host {own: false}) WHERE r.day = peak.day
    WITH x, sum(CASE WHEN startNode(r) = o THEN r.dst_bytes ELSE r.src_bytes END) AS bytes
    ORDER BY bytes DESC, x.ip_key LIMIT $top_n
    RETURN {ip: x.ip, bytes: bytes, country: x.country, asn: x.asn, as_org: x.as_org,
            dns: coalesce(x.dns, [])}
} AS senders
// ratios rounded half-even on the exact integer ratio n/d (as common.rounded_ratio):
// f = floor(n / d), then up when the remainder is over half, or half and f odd
WITH o, days, peak, second, senders,
     [x IN [[10000 * peak.bytes, second], [1000 * (peak.bytes - second), second],
            [10000 * peak.bytes, weekly]] |
      CASE WHEN x[1] = 0 THEN null ELSE
        [f IN [CASE WHEN x[0] >= 0 THEN x[0] / x[1] ELSE -((x[1] - 1 - x[0]) / x[1]) END] |
         f + CASE WHEN 2 * (x[0] - f * x[1]) > x[1]
                       OR (2 * (x[0] - f * x[1]) = x[1] AND f % 2 <> 0) THEN 1 ELSE 0 END][0]
      END] AS q
RETURN o.ip AS entity, [s IN senders | s.ip] AS members,
       {day: peak.day, top: peak.bytes, second: second, ratio: toFloat(q[0]) / 10000,
        jump_pct: toFloat(q[1]) / 10, weekday_ratio: toFloat(q[2]) / 10000,
        top_senders: senders} AS figures,
       {ingress_per_day: [d IN days | [d.day, d.bytes]]} AS pairs,
       {ingress_peak_factor: $factor, ingress_peak_min_bytes: $min_bytes} AS fired
