// The properties the finding filters use (--cidr/--country/--asn/--dns), for a list of IPs.
// Parameter: $ips.
MATCH (h:Host) WHERE h.ip IN $ips
RETURN h.ip AS ip, h.country AS country, h.asn AS asn, h.dns AS dns
