"""One asset inventory with every policy rule kind (roles, assets, sets, CIDR peers, defaults,
country rules), shared by the policy engine's unit test and the Neo4j policy parity test."""

POLICY_INVENTORY = """
own_networks: [10.0.0.0/8, "2001:db8::/32"]
ranges:
  - {cidr: 10.1.0.0/16, kind: dhcp, role: workstation}
  - {cidr: 10.2.0.0/24, kind: static}
sets:
  app-tier: [10.2.0.0/28]
assets:
  - {ip: 10.2.0.5, name: app1, role: app}
  - {ip: 10.2.0.50, name: db1, role: database, criticality: high}
  - ip: 10.2.0.51
    name: db-legacy
    role: database
    policy:
      inbound: {tcp/5432: [asset:app1], "tcp/1521": [10.2.0.0/28]}
  - {ip: 10.2.0.80, name: proxy, role: proxy}
defaults:
  outbound: {udp/53: [any]}
policies:
  workstation: {outbound: {"*": [any]}}
  app:
    outbound: {"tcp/5432": [database]}
    countries:
      inbound: {allow: []}
  database:
    inbound: {tcp/5432: ["set:app-tier"]}
    countries:
      inbound: {allow: [DE]}
  proxy:
    outbound: {tcp/80: [external], tcp/443: [external]}
    countries:
      outbound: {deny: [KP], allow: [DE, FR, US]}
"""
