"""Autodetection, --format, reader options and ingest_files for every format."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graphflow.errors import InputFormatError
from graphflow.ingestion import ingest_files
from ingest import READERS, detect_format, read_file, reader_options
from tests.conftest import DATASETS
from tests.readers.test_flowtools import FULL, REC_A, REC_B

SAMPLES = {
    "argus": DATASETS / "argus" / "ctu13-scenario1-sample100.binetflow",
    "nfdump": DATASETS / "nfdump" / "slips-test1.nfdump.csv",
    "tshark": DATASETS / "tshark" / "slips-test7-hide-and-seek-short.tshark.csv",
    "vast": DATASETS / "vast" / "vast2013-mc3-nf-week2-sample.csv",
    "pcap": DATASETS / "pcap" / "slips-test7-hide-and-seek-short.pcap",
    "zeek": DATASETS / "zeek" / "slips-portscan-horizontal.conn.log",
}


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, Path]:
    """Every format, copied under neutral names so that nothing is told by the file name."""
    out = {}
    for fmt, src in SAMPLES.items():
        dst = tmp_path / f"input-{fmt}.dat"
        shutil.copy(src, dst)
        out[fmt] = dst
    ft = tmp_path / "input-flowtools.dat"
    ft.write_text(FULL + "\n" + REC_A + "\n" + REC_B + "\n")
    out["flowtools"] = ft
    return out


def test_every_reader_is_registered_and_detected(samples: dict[str, Path]) -> None:
    assert set(samples) == set(READERS)
    for fmt, path in samples.items():
        assert detect_format(path).name == fmt


@pytest.mark.parametrize("forced", [False, True], ids=["autodetect", "format-forced"])
def test_ingest_files_every_format(samples: dict[str, Path], tmp_path: Path,
                                   forced: bool) -> None:
    for fmt, path in samples.items():
        ws = tmp_path / f"ws-{fmt}-{forced}"
        r = ingest_files([path], ws, fmt=fmt if forced else None)
        (f,) = r.files
        assert f.error is None and f.format == fmt, f.error
        assert f.loaded > 0 and f.read == f.loaded + f.rejected + f.duplicates
        again = ingest_files([path], ws, fmt=fmt if forced else None)
        assert again.loaded == 0  # the same file twice: nothing new


def test_unrecognised_file_names_the_formats_tried(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("hello world\nthis is not flow data\n")
    with pytest.raises(InputFormatError) as exc:
        detect_format(p)
    msg = str(exc.value)
    assert str(p) in msg and "hello world" in msg
    for fmt in READERS:
        assert fmt in msg
    nfcapd = DATASETS / "nfdump" / "slips-test1.nfcapd"
    with pytest.raises(InputFormatError, match="nfdump -r FILE -o csv"):
        detect_format(nfcapd)
    r = ingest_files([p, SAMPLES["argus"]], tmp_path / "ws")
    assert r.files[0].error and "tried" in r.files[0].error
    assert r.files[1].loaded == 100


def test_forcing_the_wrong_format_is_one_clear_error(tmp_path: Path) -> None:
    r = ingest_files([SAMPLES["argus"]], tmp_path / "ws", fmt="vast")
    assert r.files[0].error and "not VAST" in r.files[0].error


def test_options_go_only_to_readers_that_take_them() -> None:
    opts = {"repair": False, "start": 10.0, "stitch": False}
    assert reader_options(READERS["vast"], opts) == {"repair": False}
    assert reader_options(READERS["nfdump"], opts) == {"stitch": False}
    assert reader_options(READERS["zeek"], opts) == {}
    batches = list(read_file(READERS["vast"], SAMPLES["vast"], options=opts))
    assert sum(b.notes.get("flipped", 0) for b in batches) == 0
