"""The side files: ``names.csv``, ``whitelist.txt`` and ``assets.json``.

``assets.json`` declares the own networks, the DHCP and static ranges, the named assets
(``criticality: "high"`` marks a high-value asset) and per-role policies. A policy maps a
port (``tcp/5432``, ``udp/53``, ``icmp``, or ``*``) to the peers allowed on it: role names,
``internal`` (any own address), ``external`` or ``any``. ``defaults`` apply to every role.
Port rules concern established flows (data both ways); unanswered attempts are the scan
analyses' business. Two rules apply to any flow: no traffic with non-routable (bogon)
external addresses, and no own address outside the declared ranges.

Examples
--------
>>> sorted(POLICIES["database"]["inbound"].items())
[('tcp/5432', ['app'])]
>>> POLICIES["proxy"]["outbound"]
{'tcp/80': ['external'], 'tcp/443': ['external']}
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from graphflow.synth.network import SPECIAL_V4, World

__all__ = ["POLICIES", "POLICY_DEFAULTS", "assets_doc", "write_side_files"]

Rules = dict[str, list[str]]

POLICY_DEFAULTS: dict[str, Rules] = {
    "inbound": {"*": ["vuln_scanner"], "icmp": ["monitoring"], "tcp/5666": ["monitoring"],
                "tcp/9102": ["backup"]},
    "outbound": {"udp/53": ["dns_resolver"], "udp/123": ["ntp"]},
}

POLICIES: dict[str, dict[str, Rules]] = {
    "workstation": {"inbound": {}, "outbound": {"*": ["any"]}},
    "router": {"inbound": {}, "outbound": {}},
    "firewall": {"inbound": {}, "outbound": {}},
    "domain_controller": {"inbound": {"tcp/88": ["internal"], "tcp/389": ["internal"],
                                      "tcp/445": ["internal"], "tcp/135": ["internal"]},
                          "outbound": {}},
    "dns_resolver": {"inbound": {"udp/53": ["internal"]}, "outbound": {"udp/53": ["external"]}},
    "ntp": {"inbound": {"udp/123": ["internal"]}, "outbound": {"udp/123": ["external"]}},
    "proxy": {"inbound": {"tcp/3128": ["workstation"]},
              "outbound": {"tcp/80": ["external"], "tcp/443": ["external"]}},
    "file": {"inbound": {"tcp/445": ["workstation", "app"]}, "outbound": {}},
    "backup": {"inbound": {}, "outbound": {"tcp/9102": ["internal"]}},
    "monitoring": {"inbound": {}, "outbound": {"icmp": ["internal"], "tcp/5666": ["internal"]}},
    "vuln_scanner": {"inbound": {}, "outbound": {"*": ["internal"]}},
    "app": {"inbound": {"tcp/443": ["workstation"], "tcp/8443": ["web"]},
            "outbound": {"tcp/5432": ["database"], "tcp/443": ["external"]}},
    "database": {"inbound": {"tcp/5432": ["app"]}, "outbound": {}},
    "batch": {"inbound": {}, "outbound": {"tcp/22": ["external"]}},
    "sftp": {"inbound": {"tcp/22": ["external"]}, "outbound": {}},
    "mail": {"inbound": {"tcp/25": ["external"], "tcp/993": ["workstation"],
                         "tcp/587": ["workstation"]},
             "outbound": {"tcp/25": ["external"]}},
    "web": {"inbound": {"tcp/80": ["any"], "tcp/443": ["any"]},
            "outbound": {"tcp/8443": ["app"]}},
}

_SEMANTICS = (
    "A flow is allowed when the originator's outbound rules and the responder's inbound rules "
    "(each merged with 'defaults') both have an entry for its port ('tcp/N', 'udp/N', 'icmp' "
    "or '*') listing the other side: a role, 'internal' (any own address), 'external' or "
    "'any'. External addresses have no rules of their own. Port rules apply to established "
    "flows (answered, data both ways); failed attempts are left to the scan analyses. Two "
    "rules apply to every flow: no traffic with non-routable external addresses "
    "('non_routable'), and no own address outside the declared ranges. Addresses in a DHCP "
    "range without an asset entry take the range's role."
)


def names_csv(w: World) -> str:
    """``ip,name`` rows, quoted as CSV needs (names may hold quotes, commas, non-ASCII)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["ip", "name"])
    for i in sorted(w.book.names):
        out.writerow([w.addr(i), w.book.names[i]])
    return buf.getvalue()


def whitelist_txt(w: World) -> str:
    lines = ["# Sanctioned sources that analyses should not report (one IP or CIDR per line).",
             ""]
    for entry, comment in w.whitelist:
        lines += [f"# {comment}", entry]
    return "\n".join(lines) + "\n"


def assets_doc(w: World) -> dict[str, Any]:
    """The content of ``assets.json``."""
    assets = [{"ip": h.ip, "name": f"{h.name.removesuffix('-v6')}.{w.cfg.domain}", "role": h.role,
               "owner": h.owner, "criticality": h.criticality} for h in w.hosts.values()]
    return {
        "own_networks": w.cfg.own_networks,
        "dhcp_ranges": [r["cidr"] for r in w.ranges if r["kind"] == "dhcp"],
        "static_ranges": [r["cidr"] for r in w.ranges if r["kind"] == "static"],
        "ranges": w.ranges,
        "assets": assets,
        "hvas": [a["ip"] for a in assets if a["criticality"] == "high"],
        "policy_semantics": _SEMANTICS,
        "defaults": POLICY_DEFAULTS,
        "policies": POLICIES,
        "non_routable": list(SPECIAL_V4),
    }


def write_side_files(w: World, out_dir: Path) -> None:
    (out_dir / "names.csv").write_text(names_csv(w), encoding="utf-8")
    (out_dir / "whitelist.txt").write_text(whitelist_txt(w), encoding="utf-8")
    (out_dir / "assets.json").write_text(
        json.dumps(assets_doc(w), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
