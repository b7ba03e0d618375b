"""Native kernels of the readers (ingest/_native.c)."""

from typing import Any

def aggregate(n: int, src_off: Any, src_data: Any, dst_off: Any, dst_data: Any, proto_off: Any,
              proto_data: Any, sport: Any, dport: Any, first: Any, last: Any, line: Any,
              fwd_bytes: Any, rev_bytes: Any, fwd_pkts: Any, rev_pkts: Any, fwd_flags: Any,
              rev_flags: Any, idle: float, active: float, out_start: Any, out_first: Any,
              out_last: Any, out_fwd_bytes: Any, out_rev_bytes: Any, out_fwd_pkts: Any,
              out_rev_pkts: Any, out_fwd_flags: Any, out_rev_flags: Any, out_line: Any) -> int: ...
def pair(n: int, src_off: Any, src_data: Any, dst_off: Any, dst_data: Any, proto_off: Any,
         proto_data: Any, sport: Any, dport: Any, flags: Any, ts: Any, end: Any,
         window_us: int, fwd: Any, partner: Any, absorbed_into: Any) -> None: ...
def parse_lines(n: int, line_off: Any, data: Any, delimiter: int, quoted: bool,
                kinds: list[int], outputs: list[Any]) -> list[tuple[int, int]] | None: ...
def line_ends(data: Any, out: Any) -> int: ...
