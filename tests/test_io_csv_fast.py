"""write_frame's CSV through Arrow: the bytes pandas writes, formula text neutralised.

The reference is the writer it replaces, ``neutralise_formulas(df).to_csv(path, index=False,
encoding="utf-8-sig", lineterminator="\\r\\n")``; each test compares the bytes of the two files.
"""

import datetime as dt
import decimal

import numpy as np
import pandas as pd
import pytest

from analysis.data import io as aio
from analysis.escaping import neutralise_formulas

pytest.importorskip("pyarrow")

BOM = b"\xef\xbb\xbf"


def _pandas_bytes(df, tmp_path):
    path = tmp_path / "pandas.csv"
    neutralise_formulas(df).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path.read_bytes()


def _arrow_bytes(df, tmp_path):
    path = tmp_path / "arrow.csv"
    assert aio._write_csv_arrow(df, path), "pandas, not Arrow, would have written this table"
    return path.read_bytes()


def _same_as_pandas(df, tmp_path):
    got, want = _arrow_bytes(df, tmp_path), _pandas_bytes(df, tmp_path)
    assert got == want
    return got


def _read(data: bytes, tmp_path, **kw):
    path = tmp_path / "back.csv"
    path.write_bytes(data)
    return pd.read_csv(path, encoding="utf-8-sig", **kw)


EDGE_FLOATS = [
    0.0,
    -0.0,
    100.0,
    -7.0,
    0.1,
    1 / 3,
    2.675,
    1e-4,
    np.nextafter(1e-4, 0),
    9.99e-5,
    1e-5,
    1.5e-7,
    5e-324,
    9999999999.0,
    np.nextafter(1e10, 0),
    1e10,
    12345678901.25,
    1e15,
    9999999999999998.0,
    1e16,
    2.0**81,
    1.7976931348623157e308,
    np.inf,
    -np.inf,
    np.nan,
    123456.789,
    -0.000123,
]


def test_float_columns_are_written_as_pandas_writes_them_and_read_back_exactly(tmp_path):
    df = pd.DataFrame({"x": EDGE_FLOATS, "y": [-v for v in EDGE_FLOATS]})
    data = _same_as_pandas(df, tmp_path)
    assert b"\r\n100.0,-100.0\r\n" in data and b"\r\n-0.0,0.0\r\n" in data
    assert b"\r\n1e-05,-1e-05\r\n" in data and b"\r\ninf,-inf\r\n" in data
    assert b"\r\n,\r\n" in data  # NaN is an empty cell
    back = _read(data, tmp_path)
    np.testing.assert_array_equal(back["x"].to_numpy(), df["x"].to_numpy())  # bit for bit
    np.testing.assert_array_equal(np.signbit(back["x"]), np.signbit(df["x"]))


def test_random_floats_of_every_size_match_numpy_digit_for_digit(tmp_path):
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**63, 4000, dtype=np.int64).view(np.float64)
    money = np.round(rng.gamma(2.0, 1000.0, 4000), 2)
    scaled = rng.normal(0, 1, 4000) * 10.0 ** rng.integers(-12, 14, 4000)
    whole = rng.integers(-(10**9), 10**9, 4000).astype(float)
    df = pd.DataFrame({"bits": bits, "money": money, "scaled": scaled, "whole": whole})
    data = _same_as_pandas(df, tmp_path)
    back = _read(data, tmp_path)
    finite = np.isfinite(bits)
    np.testing.assert_array_equal(back["bits"].to_numpy()[finite], bits[finite])
    np.testing.assert_array_equal(back["money"].to_numpy(), money)


def test_integers_booleans_and_nullable_numbers(tmp_path):
    df = pd.DataFrame(
        {
            "int": np.array([0, -5, 2**62, 7], dtype="int64"),
            "int8": np.array([-128, 0, 127, 1], dtype="int8"),
            "uint64": np.array([0, 2**64 - 1, 5, 1], dtype="uint64"),
            "Int64": pd.array([1, None, -3, 4], dtype="Int64"),
            "UInt8": pd.array([None, 255, 0, 1], dtype="UInt8"),
            "Float64": pd.array([1.5, None, 100.0, 1e-7], dtype="Float64"),
            "bool": [True, False, True, False],
            "boolean": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    data = _same_as_pandas(df, tmp_path)
    assert data.splitlines()[1] == b"0,-128,0,1,,1.5,True,True"
    assert data.splitlines()[2] == b"-5,0,18446744073709551615,,255,,False,"


@pytest.mark.parametrize(
    "dtype", ["str", "string", "string[python]", "string[pyarrow]", "category", object]
)
def test_text_columns_with_na_unicode_and_quoting(tmp_path, dtype):
    values = [
        "C00012345",
        None,
        "客户分类管理",
        "a,b",
        'say "hi"',
        "two\r\nlines",
        "cr\ronly",
        "lf\nonly",
        "",
        " padded ",
        "emoji 😀 é",
        "00123",
    ]
    df = pd.DataFrame({"text": pd.Series(values, dtype=dtype), "n": range(len(values))})
    data = _same_as_pandas(df, tmp_path)
    assert b'"two\r\nlines",5\r\n' in data and b'"say ""hi""",4\r\n' in data
    back = _read(data, tmp_path, dtype={"text": str}, keep_default_na=False)
    assert back["text"].tolist() == [v or "" for v in values]


def test_object_columns_of_mixed_values_go_through_str(tmp_path):
    mixed = [
        "text",
        1,
        2.5,
        -np.inf,
        True,
        None,
        np.nan,
        pd.NA,
        pd.NaT,
        pd.Timestamp("2025-01-01"),
        dt.date(2025, 2, 3),
        decimal.Decimal("1.10"),
        b"raw",
        "=1+1",
        -3,
        "x,y",
    ]
    df = pd.DataFrame({"mixed": pd.Series(mixed, dtype=object), "n": range(len(mixed))})
    data = _same_as_pandas(df, tmp_path)
    assert b"\r\n2025-01-01 00:00:00,9\r\n" in data and b"\r\n-inf,3\r\n" in data
    assert b"\r\n'=1+1,13\r\n" in data and b"\r\nb'raw',12\r\n" in data


def test_categories_of_numbers_and_dates(tmp_path):
    df = pd.DataFrame(
        {
            "ints": pd.Categorical([3, -1, None, 3]),
            "floats": pd.Categorical([1.5, None, 100.0, 1.5]),
            "days": pd.Categorical(
                pd.to_datetime(["2025-01-01", None, "2025-01-02", "2025-01-01"])
            ),
            "labels": pd.Categorical(
                ["A 类", "-x", "=y", None], categories=["=y", "-x", "A 类", "z"]
            ),
        }
    )
    data = _same_as_pandas(df, tmp_path)
    assert b"'=y" in data and b"'-x" in data


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_dates_only_columns_stay_dates(tmp_path, unit):
    days = pd.Series(pd.to_datetime(["2025-01-01", None, "1969-12-31", "2024-02-29"])).astype(
        f"datetime64[{unit}]"
    )
    data = _same_as_pandas(pd.DataFrame({"day": days}), tmp_path)
    assert data == BOM + b'day\r\n2025-01-01\r\n""\r\n1969-12-31\r\n2024-02-29\r\n'


@pytest.mark.parametrize(
    ("stamps", "unit", "first"),
    [
        (["2025-01-01 08:30:00", "2025-01-02"], "us", "2025-01-01 08:30:00"),
        (["2025-01-01 08:30:00.250", "2025-01-02"], "us", "2025-01-01 08:30:00.250"),
        (["2025-01-01 08:30:00.000250", "2025-01-02"], "ns", "2025-01-01 08:30:00.000250"),
        (["2025-01-01 08:30:00.000000250", "2025-01-02"], "ns", "2025-01-01 08:30:00.000000250"),
        (["1969-12-31 23:59:59.5", "2025-01-02"], "ms", "1969-12-31 23:59:59.500"),
        (["2025-01-01 08:30:00", "2025-01-02"], "s", "2025-01-01 08:30:00"),
    ],
)
def test_datetime_columns_with_times_keep_the_precision_pandas_shows(tmp_path, stamps, unit, first):
    times = pd.Series(pd.to_datetime(stamps + [None], format="ISO8601")).astype(
        f"datetime64[{unit}]"
    )
    data = _same_as_pandas(pd.DataFrame({"t": times, "n": [1, 2, 3]}), tmp_path)
    assert data.splitlines()[1] == f"{first},1".encode()


def test_timezone_aware_datetimes(tmp_path):
    times = pd.Series(
        pd.to_datetime(
            ["2025-01-01 08:00", "2025-07-01 12:00:00.5", None], format="ISO8601"
        ).tz_localize("Asia/Shanghai")
    )
    paris = times.dt.tz_convert("Europe/Paris")
    data = _same_as_pandas(pd.DataFrame({"sh": times, "paris": paris}), tmp_path)
    assert data.splitlines()[1] == b"2025-01-01 08:00:00.000+08:00,2025-01-01 01:00:00.000+01:00"
    old = pd.Series(pd.to_datetime(["1900-01-01", "2025-01-01"]).tz_localize("Asia/Shanghai"))
    _same_as_pandas(pd.DataFrame({"lmt": old, "n": [1, 2]}), tmp_path)  # an offset with seconds


def test_formula_text_is_neutralised_in_cells_and_headers(tmp_path):
    attacks = ["=cmd|' /C calc'!A0", "+1", "@SUM(1)", "-2", "\t=x", "\r=x", "-x", "+3.5e2", "ok"]
    for dtype in ("str", object, "category"):
        df = pd.DataFrame({"=x": pd.Series(attacks, dtype=dtype), "amount": [-1.5] * len(attacks)})
        data = _same_as_pandas(df, tmp_path)
        back = _read(data, tmp_path, dtype=str, keep_default_na=False)
        assert list(back.columns) == ["'=x", "amount"]
        assert back["'=x"].tolist() == [
            "'=cmd|' /C calc'!A0",
            "+1",  # a plain signed number stays a number
            "'@SUM(1)",
            "-2",
            "'\t=x",
            "'\r=x",  # quoted: the CR stays in its cell
            "'-x",
            "+3.5e2",
            "ok",
        ]
        assert set(back["amount"]) == {"-1.5"}  # numbers are never prefixed


def test_write_frame_writes_through_arrow_with_bom_crlf_and_the_callers_frame_unchanged(
    tmp_path, monkeypatch
):
    calls = []
    arrow = aio._write_csv_arrow
    monkeypatch.setattr(
        aio, "_write_csv_arrow", lambda df, p: calls.append(arrow(df, p)) or calls[-1]
    )
    df = pd.DataFrame({"名称": ["=客户", "b"], "金额": [1.0, 2.5]})
    data = aio.write_frame(df, tmp_path / "x.csv").read_bytes()
    assert calls == [True]
    assert data == BOM + "名称,金额\r\n'=客户,1.0\r\nb,2.5\r\n".encode()
    assert df["名称"].iloc[0] == "=客户"


def test_duplicate_and_non_string_headers(tmp_path):
    df = pd.DataFrame([[1, "a", 2.0, True]], columns=["x", "x", 3, "a,b"])
    data = _same_as_pandas(df, tmp_path)
    assert data.splitlines()[0] == BOM + b'x,x,3,"a,b"'
    _same_as_pandas(pd.DataFrame(np.arange(6).reshape(2, 3)), tmp_path)
    _same_as_pandas(pd.DataFrame({1.5: [1.0], None: ["n"]}), tmp_path)


def test_a_single_column_writes_an_empty_cell_as_quotes_like_the_csv_module(tmp_path):
    df = pd.DataFrame({"only": ["a", None, ""]})
    assert _same_as_pandas(df, tmp_path) == BOM + b'only\r\na\r\n""\r\n""\r\n'
    assert _read(_arrow_bytes(df, tmp_path), tmp_path, keep_default_na=False)["only"].tolist() == [
        "a",
        "",
        "",
    ]


def test_long_tables_are_written_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(aio, "_CSV_CHUNK_ROWS", 7)
    rng = np.random.default_rng(3)
    n = 50
    df = pd.DataFrame(
        {
            "id": [f"C{i:08d}" for i in range(n)],
            "cls": pd.Categorical(rng.choice(["重点", "一般", "=bad"], n)),
            "x": np.where(rng.random(n) < 0.2, np.nan, rng.gamma(2, 1000, n)),
            "day": pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 90, n), "D"),
            "n": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), "Int64"),
            # object text is made Arrow text a chunk at a time
            "note": pd.Series(rng.choice(["重要客户", "a,b", '"q"', "=x", None], n), dtype=object),
        }
    )
    data = _same_as_pandas(df, tmp_path)
    assert data.count(b"\r\n") == n + 1


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"gap": pd.to_timedelta([1, 2], "D"), "x": [1, 2]}),
        pd.DataFrame({"f32": np.array([0.1, 2.5], dtype="float32")}),
        pd.DataFrame(
            {"old": pd.Series(pd.to_datetime(["0900-01-01", "2025-01-01"], format="ISO8601"))}
        ),
        pd.DataFrame({"a": pd.array([1, None], dtype="int64[pyarrow]")}),
        pd.DataFrame({"x": []}),
        pd.DataFrame(index=range(3)),
    ],
    ids=["timedelta", "float32", "year 900", "arrow int", "no rows", "no columns"],
)
def test_tables_arrow_does_not_write_fall_back_to_pandas(tmp_path, df):
    assert not aio._write_csv_arrow(df, tmp_path / "a.csv")
    path = aio.write_frame(df, tmp_path / "x.csv")
    assert path.read_bytes() == _pandas_bytes(df, tmp_path)


def test_without_pyarrow_pandas_writes_the_same_file(tmp_path, monkeypatch):
    from analysis.engine import aggregate

    df = pd.DataFrame(
        {"t": ["=a", "b,c"], "x": [1.0, np.nan], "d": pd.to_datetime(["2025-01-01", None])}
    )
    monkeypatch.setattr(aggregate, "arrow_available", lambda: False)
    assert not aio._write_csv_arrow(df, tmp_path / "a.csv")
    assert aio.write_frame(df, tmp_path / "x.csv").read_bytes() == _pandas_bytes(df, tmp_path)


def test_text_pandas_cannot_encode_fails_as_before(tmp_path):
    df = pd.DataFrame({"t": pd.Series(["ok", "bad \ud800"], dtype=object)})
    with pytest.raises(UnicodeEncodeError):
        aio.write_frame(df, tmp_path / "x.csv")


def test_arrow_writes_the_floats_it_formats_as_numpy_does():
    assert aio._arrow_floats_as_numpy()


def test_neutralise_formulas_leaves_numbers_in_text_columns_as_they_are(tmp_path):
    # the numbers that start with "-" used to come back as floats: -1 was written "-1.0"
    df = pd.DataFrame(
        {"o": pd.Series([3, -1, 4], dtype=object), "c": pd.Categorical([3, -1, None])}
    )
    out = neutralise_formulas(df)
    assert out["o"].tolist() == [3, -1, 4] and type(out["o"].iloc[1]) is int
    assert out["c"].tolist()[:2] == [3, -1] and type(out["c"].iloc[1]) is int
    data = _same_as_pandas(df, tmp_path)
    assert data == BOM + b"o,c\r\n3,3\r\n-1,-1\r\n4,\r\n"


def test_columns_of_nothing_but_na(tmp_path):
    df = pd.DataFrame(
        {
            "o": pd.Series([None, np.nan], dtype=object),
            "f": [np.nan, np.nan],
            "d": pd.to_datetime([None, None]),
            "s": pd.Series([None, None], dtype="str"),
            "c": pd.Categorical([None, None]),
            "i": pd.array([None, None], dtype="Int64"),
        }
    )
    assert _same_as_pandas(df, tmp_path) == BOM + b"o,f,d,s,c,i\r\n,,,,,\r\n,,,,,\r\n"
