-- Scan attempts: connections that got nothing back, per source and day
-- Per originator and UTC day: the flows that got no answer (rejected, or not one packet
-- returned), out of all its flows, and how many targets and ports those attempts covered.
-- Sources with at least min_failed such flows in a day are listed; whitelisted says whether
-- the inventory sanctions the source. The syn_only_scans analysis reports the sources that
-- pass its thresholds on these same counts.
-- param min_failed=1: fewest unanswered flows in a day to list a source
WITH a AS (
    SELECT src_ip, day, dst_ip, dst_port, proto,
           state IN ('REJ', 'RSTOS0') OR coalesce(dst_pkts, 0) = 0 AS failed
    FROM flows)
SELECT a.src_ip,
       a.day,
       count(*) FILTER (WHERE failed) AS failed,
       count(*) AS flows,
       round(count(*) FILTER (WHERE failed) / count(*), 4) AS ratio,
       count(DISTINCT a.dst_ip) FILTER (WHERE failed) AS targets,
       count(DISTINCT (a.proto, a.dst_port)) FILTER (WHERE failed) AS ports,
       coalesce(any_value(h.whitelisted), false) AS whitelisted
FROM a
LEFT JOIN hosts h ON h.ip = a.src_ip
GROUP BY a.src_ip, a.day
HAVING count(*) FILTER (WHERE failed) >= CAST($min_failed AS BIGINT)
ORDER BY failed DESC, a.src_ip, a.day
