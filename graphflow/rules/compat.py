"""AfterGlow's own arithmetic, reproduced so that translated property files behave alike:
the severity colour scale of its ``get_severity()`` and Perl's numeric value of a string.
"""

from __future__ import annotations

import re

__all__ = ["perl_number", "severity_color"]


def _interpolate(begin: int, end: int, step: float, top: float) -> float:
    if begin < end:
        return (end - begin) * (step / top) + begin
    return (begin - end) * (1 - step / top) + end


def severity_color(value: float, steps: int = 10) -> str:
    """A colour from green (0) to red (``steps`` and above), as AfterGlow's get_severity().

    The value is rounded half away from zero and clamped to ``0..steps``.

    >>> severity_color(0), severity_color(10), severity_color(5, steps=10)
    ('#60BB22', '#CC0000', '#965D11')
    """
    steps = steps if steps > 0 else 10
    x = int(value + 0.5 * ((value > 0) - (value < 0)))
    x = min(max(x, 0), steps)
    start, end = 0x60BB22, 0xCC0000
    channels = []
    for shift in (16, 8, 0):
        b0, b1 = (start >> shift) & 0xFF, (end >> shift) & 0xFF
        channels.append(int(_interpolate(b0, b1, x, steps)))
    return "#{:02X}{:02X}{:02X}".format(*channels)



_LEADING_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def perl_number(v: str | None) -> float:
    """Perl's numeric value of a string: its leading number, else 0.

    >>> perl_number("198.167.234.152"), perl_number("0x03"), perl_number(""), perl_number("1e3x")
    (198.167, 0.0, 0.0, 1000.0)
    """
    if not v:
        return 0.0
    m = _LEADING_NUMBER.match(v)
    return float(m.group(1)) if m else 0.0
