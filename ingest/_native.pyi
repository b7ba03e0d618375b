"""Native kernels of the readers (ingest/_native.c)."""

from typing import Any

def pair(n: int, src_off: Any, src_data: Any, dst_off: Any, dst_data: Any, proto_off: Any,
         proto_data: Any, sport: Any, dport: Any, flags: Any, ts: Any, end: Any,
         window_us: int, fwd: Any, partner: Any, absorbed_into: Any) -> None: ...
