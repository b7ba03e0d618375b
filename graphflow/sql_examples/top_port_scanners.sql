-- Top port scanners: external peers reaching the most own hosts with tiny exchanges
-- An exchange is low-profile when, per UTC day, external peer, own host, port and protocol,
-- the packets and bytes of both directions stay within max_pkts and max_bytes (trafMon's
-- synthesis cut-offs). Peers are ranked by the number of distinct own hosts they had such
-- exchanges with (ties share a rank, 1 + the peers above); the top ranks are listed with
-- the ports they touched.
-- Whitelisted peers are left out. Same figures as the top_scanners analysis (widest).
-- param max_pkts=20: most packets (both directions) of a low-profile exchange
-- param max_bytes=2000: most bytes (both directions) of a low-profile exchange
-- param top=5: the lowest rank listed (ties at that rank included)
WITH low AS (
    SELECT e.day, e.src_ip AS peer, e.dst_ip AS own_ip, e.dst_port AS port, e.proto
    FROM edges e
    JOIN hosts o ON o.ip = e.dst_ip AND o.own
    JOIN hosts r ON r.ip = e.src_ip AND NOT r.own AND NOT coalesce(r.whitelisted, false)
    GROUP BY ALL
    HAVING sum(e.src_pkts + e.dst_pkts) <= CAST($max_pkts AS BIGINT)
       AND sum(e.src_bytes + e.dst_bytes) <= CAST($max_bytes AS BIGINT)),
ranked AS (
    SELECT peer, count(DISTINCT own_ip) AS own_hosts, count(DISTINCT port) AS ports,
           count(DISTINCT day) AS days
    FROM low GROUP BY peer)
SELECT rank() OVER (ORDER BY own_hosts DESC) AS rank, peer, own_hosts, ports, days
FROM ranked
QUALIFY rank <= CAST($top AS INTEGER)
ORDER BY rank, peer
