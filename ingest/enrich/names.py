"""User-supplied name tables: CSV with a header naming at least ``ip`` and ``name``.

Several names per address are allowed (one per row); other columns are ignored. Values may be
quoted as CSV needs (commas, quotes, non-ASCII). Errors name the file, the line and the field.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "names.csv"
>>> _ = p.write_text('ip,name\\n10.0.0.1,"db,01.corp"\\n2001:DB8::1,www.corp\\n')
>>> read_names_csv(p).to_pylist()[1]["ip"]
'2001:db8::1'
>>> _ = p.write_text("ip,name\\n10.0.0.300,x\\n")
>>> read_names_csv(p)
Traceback (most recent call last):
...
graphflow.errors.InputFormatError: ...names.csv:2: ip: '10.0.0.300' is not an IP address
"""

from __future__ import annotations

import csv
import ipaddress
import os

import pyarrow as pa

from graphflow.errors import InputFormatError

__all__ = ["NAMES_SCHEMA", "read_names_csv"]

NAMES_SCHEMA = pa.schema([pa.field("ip", pa.string(), nullable=False),
                          pa.field("name", pa.string(), nullable=False),
                          pa.field("line", pa.int64())])


def read_names_csv(path: str | os.PathLike[str]) -> pa.Table:
    """``(ip, name, line)`` rows of a name table, addresses normalised."""
    p = os.fspath(path)
    ips: list[str] = []
    names: list[str] = []
    lines: list[int] = []
    try:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise InputFormatError(p, 1, "empty file: expected a header with ip,name")
            cols = [h.strip().lower() for h in header]
            if "ip" not in cols or "name" not in cols:
                raise InputFormatError(p, 1, f"header must name the columns ip and name, got "
                                       f"{','.join(header)!r}")
            ci, cn = cols.index("ip"), cols.index("name")
            for row in reader:
                no = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) <= max(ci, cn):
                    raise InputFormatError(p, no, f"expected at least {max(ci, cn) + 1} "
                                           f"columns, got {len(row)}")
                text = row[ci].strip()
                try:
                    ip = str(ipaddress.ip_address(text))
                except ValueError:
                    raise InputFormatError(p, no, f"ip: {text!r} is not an IP address") from None
                name = row[cn].strip().rstrip(".")
                if not name:
                    raise InputFormatError(p, no, "name: empty")
                ips.append(ip)
                names.append(name)
                lines.append(no)
    except OSError as exc:
        raise InputFormatError(p, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputFormatError(p, None, f"not UTF-8 text: {exc}") from None
    except csv.Error as exc:
        raise InputFormatError(p, None, f"bad CSV: {exc}") from None
    return pa.table([pa.array(ips, pa.string()), pa.array(names, pa.string()),
                     pa.array(lines, pa.int64())], schema=NAMES_SCHEMA)
