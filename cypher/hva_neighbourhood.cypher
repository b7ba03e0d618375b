// Twin of graphflow/analyses/hva_neighbourhood.py, over the same graph model; returns the
// findings (see graphflow/analyses/neo4j_backend.py for the row contract).
// For each high-value asset (Host.hva): its peers in both directions (internal: own hosts;
// external: the rest), ports served (inbound) and used (outbound), first and last seen; an
// HVA is reported when external peers first appear in the last $window days of the data
// (after the data's last day minus $window) and never before: members are those new peers.
MATCH ()-[r0:FLOW]->()
WITH max(r0.day) AS last
MATCH (h:Host {hva: true})
CALL {
    WITH h
    MATCH (p:Host)-[r:FLOW]->(h) RETURN p, r, 'in' AS dir
    UNION ALL
    WITH h
    MATCH (h)-[r:FLOW]->(p:Host) RETURN p, r, 'out' AS dir
}
WITH last, h, p, coalesce(p.own, false) AS own, r, dir,
     r.proto + '/' + coalesce(toString(r.dst_port), '-') AS port
WITH last, h, p, own, min(r.day) AS first, min(r.first_seen) AS fs, max(r.last_seen) AS ls,
     collect(DISTINCT CASE WHEN dir = 'in' THEN port END) AS served,
     collect(DISTINCT CASE WHEN dir = 'out' THEN port END) AS used
WITH last, h, collect({ip: p.ip, own: own, first: first, fs: fs, ls: ls, served: served,
                       used: used}) AS ps
WITH h, ps, [x IN ps WHERE NOT x.own AND x.first > last - duration({days: $window})] AS new
WHERE size(new) > 0
RETURN h.ip AS entity, [x IN new | x.ip] AS members,
       {new_peers: size(new), peers: size(ps), internal_peers: size([x IN ps WHERE x.own]),
        external_peers: size([x IN ps WHERE NOT x.own]),
        ports_served: COLLECT { UNWIND ps AS x UNWIND x.served AS port
                                RETURN DISTINCT port ORDER BY port },
        ports_used: COLLECT { UNWIND ps AS x UNWIND x.used AS port
                              RETURN DISTINCT port ORDER BY port },
        first_seen: reduce(m = ps[0].fs, x IN ps | CASE WHEN x.fs < m THEN x.fs ELSE m END),
        last_seen: reduce(m = ps[0].ls, x IN ps | CASE WHEN x.ls > m THEN x.ls ELSE m END),
        first_new: reduce(m = new[0].first, x IN new |
                          CASE WHEN x.first < m THEN x.first ELSE m END)} AS figures,
       {hva_new_window_days: $window} AS fired
