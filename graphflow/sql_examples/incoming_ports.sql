-- Incoming connections per server port
-- For one server, per port it was contacted on: flows, distinct clients, flows that got no
-- answer (rejected, or no packet back), bytes each way, first and last time seen.
-- param server: the server's IP address
SELECT dst_port AS port,
       proto,
       count(*) AS flows,
       count(DISTINCT src_ip) AS clients,
       count(*) FILTER (WHERE state IN ('REJ', 'RSTOS0') OR coalesce(dst_pkts, 0) = 0)
           AS unanswered,
       sum(coalesce(src_bytes, 0)) AS bytes_in,
       sum(coalesce(dst_bytes, 0)) AS bytes_out,
       min(ts) AS first_seen,
       max(ts) AS last_seen
FROM flows
WHERE dst_ip = $server
GROUP BY ALL
ORDER BY flows DESC, port
