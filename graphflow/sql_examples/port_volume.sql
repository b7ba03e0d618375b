-- Hourly or daily volume per service port of a server over the last N days
-- For one server, per service port (its own port) and per hour or day: the flows it
-- received, the bytes and packets its clients sent (in) and it sent back (out). The window
-- is the N days before the newest flow in the workspace (UTC).
-- param server: the server's IP address
-- param days=7: how many days back from the newest flow
-- param bucket=day: hour or day
WITH newest AS (SELECT max(ts) AS t FROM flows)
SELECT date_trunc($bucket, f.ts) AS period,
       f.dst_port AS port,
       f.proto,
       count(*) AS flows,
       sum(coalesce(f.src_bytes, 0)) AS bytes_in,
       sum(coalesce(f.dst_bytes, 0)) AS bytes_out,
       sum(coalesce(f.src_pkts, 0)) AS pkts_in,
       sum(coalesce(f.dst_pkts, 0)) AS pkts_out
FROM flows f, newest
WHERE f.dst_ip = $server
  AND f.ts > newest.t - to_days(CAST($days AS INTEGER))
GROUP BY ALL
ORDER BY period, port, f.proto
