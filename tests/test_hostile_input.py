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

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from hostile.cases import CASES, build

from analysis.data import io as aio
from analysis.data.validation import DataError
from analysis.tools.cli import cli


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


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


@pytest.mark.parametrize(
    "name", ["utf16le_bom_tab", "utf16be_bom_comma", "utf16le_no_bom_tab", "utf32_bom"]
)
def test_utf16_and_32_are_read_as_text(tmp_path, name):
    tx = _load(tmp_path, name).transactions
    assert tx["customer_id"].tolist() == ["华东医药批发", "C002"]
    assert tx["amount"].tolist() == [1200.5, -30.0]


@pytest.mark.parametrize(
    "name", ["semicolon_delimited", "tab_delimited", "pipe_delimited", "crlf_line_ends"]
)
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
    assert ds["interactions"]["kind"].tolist() == [
        "complaint",
        "praise",
        "visit",
        "suggestion",
        "task",
    ]


def test_quoted_multiline_note_keeps_line_numbers(tmp_path):
    with pytest.raises(DataError) as info:
        _load(tmp_path, "quoted_multiline_note")
    assert info.value.rows == [4]  # the note spans lines 2-3, so the bad kind is on line 4


# ---------------------------------------------------------------- rules with hand-picked boundaries
from analysis.churn.features import clean_customer_table  # noqa: E402
from analysis.data import overview as ov  # noqa: E402
from analysis.data.validation import parse_dates, parse_numbers, validate_table  # noqa: E402


def _tx(dates):
    return pd.DataFrame(
        {"customer_id": ["a"] * len(dates), "date": dates, "amount": ["1"] * len(dates)},
        dtype="str",
    )


def test_future_tolerance_is_one_day():
    # run date 2025-06-30: 2025-07-01 23:59 is within the one-day tolerance, 2025-07-02 is not
    ok = validate_table(_tx(["2025-07-01 23:59"]), "transactions", today="2025-06-30")
    assert ok["date"].iloc[0] == pd.Timestamp("2025-07-01 23:59")
    with pytest.raises(
        DataError,
        match=r"after the run date \(2025-06-30\) by more than 1 day: line 3 '2025-07-02'",
    ):
        validate_table(_tx(["2025-06-30", "2025-07-02"]), "transactions", today="2025-06-30")


def test_earliest_date_is_1990_but_customers_since_may_be_older():
    validate_table(_tx(["1990-01-01"]), "transactions", today="2025-06-30")
    with pytest.raises(DataError, match=r"before 1990-01-01: line 2 '1989-12-31'"):
        validate_table(_tx(["1989-12-31"]), "transactions", today="2025-06-30")
    since = validate_table(
        pd.DataFrame({"customer_id": ["a"], "since": ["1978-05-01"]}, dtype="str"),
        "customers",
        today="2025-06-30",
    )
    assert since["since"].iloc[0] == pd.Timestamp("1978-05-01")


def test_year_last_dates_follow_the_column():
    # 18/01 proves day-first, and every value is unambiguous (day > 12 or day == month): no setting needed
    dates, bad = parse_dates(pd.Series(["18/01/2025", "05/05/2025", "31/12/2024"], dtype="str"))
    assert (
        dates.tolist() == list(pd.to_datetime(["2025-01-18", "2025-05-05", "2024-12-31"]))
        and bad.empty
    )
    month_first, _ = parse_dates(
        pd.Series(["01/18/2025", "03/04/2025"], dtype="str"), date_format="month-first"
    )
    assert month_first.tolist() == list(pd.to_datetime(["2025-01-18", "2025-03-04"]))


def test_chinese_and_dotted_dates_are_year_first():
    dates, bad = parse_dates(
        pd.Series(["2025年3月5日", "2025.3.5", "2025/03/05", "20250305"], dtype="str")
    )
    assert set(dates) == {pd.Timestamp("2025-03-05")} and bad.empty


def test_numbers_commas_only_between_groups_of_three():
    nums, bad = parse_numbers(
        pd.Series(
            ["1,234.5", "¥1,234,567", "(120)", "1234.5元", "1,20", "12,3456", "-"], dtype="str"
        )
    )
    assert nums.iloc[:4].tolist() == [1234.5, 1234567.0, -120.0, 1234.5]
    assert bad.tolist() == ["1,20", "12,3456", "-"]


def test_numbers_must_be_finite_and_below_1e15():
    nums, bad = parse_numbers(pd.Series([1.0, np.inf, -np.inf, 9.99e14, 1e15, np.nan]))
    assert bad.tolist() == [np.inf, -np.inf, 1e15]
    assert nums.iloc[3] == 9.99e14 and np.isnan(
        nums.iloc[5]
    )  # NaN in a numeric file is blank, not bad


def test_sniff_delimiter_reads_the_header_line():
    assert aio.sniff_delimiter("a;b;c\n1,5;2;x,y,z\n") == ";"
    assert (
        aio.sniff_delimiter("customer_id,tags\nC1,a;b;c;d\n") == ","
    )  # tags ';' in data do not mislead
    assert aio.sniff_delimiter("Title\n\na\tb\tc\n") == "\t"
    assert aio.sniff_delimiter("title\na;b\n", header_line=2) == ";"


def test_encodings_by_bom_and_zero_bytes():
    assert aio.sniff_encoding("甲,乙\n".encode("utf-16-le")) == "utf-16-le"
    assert aio.sniff_encoding("甲,乙\n".encode("utf-16-be")) == "utf-16-be"
    assert aio.sniff_encoding(b"\xef\xbb\xbfa,b\n") == "utf-8-sig"
    assert aio.sniff_encoding("甲,乙\n".encode("gbk")) == "gb18030"


def test_negative_stock_is_a_finding():
    tx = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2025-01-01"]), "amount": [10.0]}
    )
    inv = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-31"] * 3),
            "product_id": ["p", "q", "r"],
            "stock_value": [100.0, -20.0, -5.5],
        }
    )
    f = ov.quality_findings(tx, inventory=inv).set_index("finding")
    assert f.loc["negative_stock", "count"] == 2 and f.loc["negative_stock", "amount"] == -25.5
    assert "negative_stock" not in ov.quality_findings(tx)["finding"].tolist()


def test_churn_customer_table_with_repeated_ids_is_refused():
    raw = pd.DataFrame({"id": ["a", "b", "a"], "x": ["1", "2", "3"], "churn": ["yes", "no", "no"]})
    with pytest.raises(
        DataError, match=r"column 'id': 2 rows share a customer id: line 2 'a', line 4 'a'"
    ):
        clean_customer_table(raw, label_col="churn", id_col="id")


@pytest.mark.parametrize(
    "text, encoding, expected",
    [
        ("lang: en\ntop_n: [1\n", "utf-8", r"x\.yaml: not valid YAML at line 3"),
        (
            "x: !!python/object/apply:os.system ['echo hi']\n",
            "utf-8",
            r"x\.yaml: not valid YAML at line 1.*python",
        ),
    ],
)
def test_yaml_files_fail_in_one_line_naming_the_line(tmp_path, text, encoding, expected):
    path = tmp_path / "x.yaml"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(DataError, match=expected):
        aio.read_yaml(path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "gbk"])
def test_yaml_files_in_excel_and_notepad_encodings(tmp_path, encoding):
    path = tmp_path / "x.yaml"
    path.write_bytes("lang: en\n标题: 季度报告\n".encode(encoding))
    assert aio.read_yaml(path) == {"lang": "en", "标题": "季度报告"}
