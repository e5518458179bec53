"""Hostile and awkward input through ``ccm check``: one clear paragraph, the right exit code, inputs untouched.

Each case is a small data directory built in ``tmp_path`` from bytes (the cases live in
``tests/hostile/cases.py``). For every case the test asserts the exit code (0 = read,
2 = refused), that the message names what it should (file, column, line, expected form),
that no traceback or unexpected exception escaped, and that every input file is
byte-identical afterwards. A few cases also check *how* the file was read
(``load_dataset``), because "exit 0" alone does not prove a correct read.
"""
from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from hostile.cases import CASES, build  # noqa: E402

from analysis import io as aio  # noqa: E402
from analysis.cli import cli  # noqa: E402
from analysis.validation import DataError  # noqa: E402


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _check(data_dir: Path):
    return CliRunner().invoke(cli, ["check", "--data-dir", str(data_dir)])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(tmp_path, case):
    data_dir = build(case, tmp_path / "data")
    before = _digests(data_dir)
    res = _check(data_dir)
    text = res.output + (res.stderr or "")
    assert "Traceback" not in text
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == case.exit_code, text
    if case.exit_code == 2:
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr  # one paragraph
    for pattern in case.expect:
        assert re.search(pattern, text), f"{pattern!r} not in: {text}"
    for pattern in case.reject:
        assert not re.search(pattern, text), f"{pattern!r} in: {text}"
    assert _digests(data_dir) == before  # inputs byte-identical


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert sum(c.exit_code == 2 for c in CASES) >= 25


# ---------------------------------------------------------------- how the accepted files were read
def _load(tmp_path, name):
    case = next(c for c in CASES if c.name == name)
    return aio.load_dataset(build(case, tmp_path / "data"))


def test_gbk_names_survive(tmp_path):
    ds = _load(tmp_path, "gbk_chinese_headers")
    assert ds.transactions["customer_id"].tolist() == ["华东医药批发", "苏州康泰大药房"]


@pytest.mark.parametrize("name", ["utf16le_bom_tab", "utf16be_bom_comma", "utf16le_no_bom_tab", "utf32_bom"])
def test_utf16_and_32_are_read_as_text(tmp_path, name):
    tx = _load(tmp_path, name).transactions
    assert tx["customer_id"].tolist() == ["华东医药批发", "C002"]
    assert tx["amount"].tolist() == [1200.5, -30.0]


@pytest.mark.parametrize("name", ["semicolon_delimited", "tab_delimited", "pipe_delimited", "crlf_line_ends"])
def test_other_delimiters_are_read(tmp_path, name):
    tx = _load(tmp_path, name).transactions
    assert list(tx.columns[:3]) == ["customer_id", "date", "amount"]
    assert tx["amount"].tolist() == [100.0, -30.0]


def test_date_format_day_first_reads_01_02_as_1_february(tmp_path):
    tx = _load(tmp_path, "date_format_day_first").transactions
    assert tx["date"].tolist() == list(pd.to_datetime(["2025-02-01", "2025-01-18"]))


def test_date_format_strftime(tmp_path):
    tx = _load(tmp_path, "date_format_strftime_per_table").transactions
    assert tx["date"].tolist() == list(pd.to_datetime(["2025-02-01", "2025-01-18"]))


def test_single_time_zone_keeps_the_wall_clock_date(tmp_path):
    tx = _load(tmp_path, "single_time_zone_offset").transactions
    assert tx["date"].tolist() == list(pd.to_datetime(["2025-03-31 23:30", "2025-04-01 08:00"]))


def test_header_row_setting_reads_below_title(tmp_path):
    for name in ("xlsx_header_row_set", "csv_header_row_set"):
        tx = _load(tmp_path / name, name).transactions
        assert tx["customer_id"].tolist() == ["C001", "C002"]


def test_chinese_interaction_kinds_are_canonical(tmp_path):
    ds = _load(tmp_path, "interaction_kinds_in_chinese")
    assert ds["interactions"]["kind"].tolist() == ["complaint", "praise", "visit", "suggestion", "task"]


def test_quoted_multiline_note_keeps_line_numbers(tmp_path):
    with pytest.raises(DataError) as info:
        _load(tmp_path, "quoted_multiline_note")
    assert info.value.rows == [4]  # the note spans lines 2-3, so the bad kind is on line 4
