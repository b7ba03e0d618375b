"""Number text is read alike whether its block casts whole (Arrow's cast of the column) or
value by value (a block with a bad value elsewhere): same value, or refused both ways."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from ingest.base import float_column, int_column
from tests.readers.conftest import read_all

_INTS = ["0", "7", "-12", "+5", "007", "0x10", "0X1f", "0xFFFFFFFFFFFFFFFF", "+0x10", "-0x10",
         "0x", "0xg", "1e3", "1.0", "99999999999999999999", "+99999999999999999999", "x"]
_FLOATS = ["1.5", "+1.5", "-.5", ".5", "1.", "1e5", "1E+5", "nan", "NaN", "inf", "-Infinity",
           "0x10", "1e", "e5", "1.5.1", "x"]


@pytest.mark.parametrize("value", _INTS)
def test_int_read_alike_either_way(value: str) -> None:
    whole, bad_whole = int_column(pa.array([value, "1"]))  # the cast of the column, if it takes
    alone, bad_alone = int_column(pa.array([value, "not a number"]))  # value by value
    refused_whole = bad_whole is not None and bool(bad_whole[0])
    assert (whole[0].as_py(), refused_whole) == (alone[0].as_py(), bool(bad_alone[0]))


@pytest.mark.parametrize("value", _FLOATS)
def test_float_read_alike_either_way(value: str) -> None:
    whole, bad_whole = float_column(pa.array([value, "1"]))
    alone, bad_alone = float_column(pa.array([value, "not a number"]))
    a, b = whole[0].as_py(), alone[0].as_py()
    refused_whole = bad_whole is not None and bool(bad_whole[0])
    assert refused_whole == bool(bad_alone[0])
    assert a == b or (a != a and b != b)  # (NaN)


@pytest.mark.parametrize("fmt,text", [
    ("tshark", "frame.time_epoch,ip.src,ip.dst,ip.proto,tcp.srcport,tcp.dstport,frame.len\n"
               "1.0,10.0.0.1,10.0.0.2,6,4000,+80,60\n1.1,10.0.0.1,10.0.0.2,6,4000,80,60\n"),
    ("argus", "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,TotPkts,TotBytes,"
              "SrcBytes\n2011/08/10 09:59:05,1.5,tcp,10.0.0.1,1025,->,10.0.0.2,+80,S_RA,2,120,"
              "+60\n2011/08/10 09:59:06,1.5,tcp,10.0.0.1,1026,->,10.0.0.2,80,S_RA,2,120,60\n"),
    ("nfdump", "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt\n2018-01-12 15:37:30,"
               "2018-01-12 15:37:30,0.000,147.32.80.119,147.32.82.62,+52324,902,TCP,......S.,"
               "0,0,+1,60,0,0\n"),
])
def test_a_plus_sign_is_read_not_a_crash(tmp_path: Path, fmt: str, text: str) -> None:
    # a leading + passed the check of the value-by-value path, then failed its cast: the
    # whole column refused (a traceback on user data)
    p = tmp_path / "plus.csv"
    p.write_text(text)
    b = read_all(fmt, p)
    assert not b.rejects and b.table.num_rows >= 1
    ports = {r["dst_port"] for r in b.table.to_pylist()} | {
        r["src_port"] for r in b.table.to_pylist()}
    assert 80 in ports or 52324 in ports
