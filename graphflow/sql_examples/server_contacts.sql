-- What a server contacted
-- The peers and ports one host opened connections to (it is the originator), with flows,
-- bytes each way, the days seen, and the peer's country, AS and DNS names when the hosts
-- table has them.
-- param server: the host's IP address
SELECT f.dst_ip AS peer,
       f.dst_port AS port,
       f.proto,
       count(*) AS flows,
       sum(coalesce(f.src_bytes, 0)) AS bytes_sent,
       sum(coalesce(f.dst_bytes, 0)) AS bytes_received,
       count(DISTINCT f.day) AS days,
       min(f.ts) AS first_seen,
       max(f.ts) AS last_seen,
       any_value(h.country) AS country,
       any_value(h.asn) AS asn,
       any_value(h.dns) AS dns
FROM flows f
LEFT JOIN hosts h ON h.ip = f.dst_ip
WHERE f.src_ip = $server
GROUP BY f.dst_ip, f.dst_port, f.proto
ORDER BY flows DESC, peer, port
