"""Loaders: each encoding, Excel, Parquet, header mapping, and never writing the inputs."""

import hashlib

import pandas as pd
import pytest
import yaml

from analysis.data import io as aio
from analysis.data.validation import DataError

ROWS_ZH = [
    ("客户编号", "交易日期", "销售额"),
    ("C001", "2025-01-03", '"1,200.50"'),
    ("C002", "2025/2/1", "-300"),
    ("苏州客户", "2025年3月5日", "80"),
]


def _csv_text(rows):
    return "\n".join(",".join(r) for r in rows) + "\n"


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = tmp_path / "transactions.csv"
    path.write_bytes(_csv_text(ROWS_ZH).encode(encoding))
    df = aio.read_table(path, "transactions")
    assert list(df.columns) == ["customer_id", "date", "amount"]
    assert df["customer_id"].tolist() == ["C001", "C002", "苏州客户"]
    assert df["amount"].tolist() == [1200.5, -300.0, 80.0]
    assert df["date"].tolist() == list(pd.to_datetime(["2025-01-03", "2025-02-01", "2025-03-05"]))


def test_columns_yaml_maps_own_headers(tmp_path):
    rows = [("编号", "开票日", "含税额", "备注"), ("A1", "2025-01-02", "10", "x")]
    (tmp_path / "transactions.csv").write_bytes(_csv_text(rows).encode("gbk"))
    (tmp_path / "columns.yaml").write_text(
        yaml.safe_dump(
            {"transactions": {"编号": "customer_id", "开票日": "date", "含税额": "amount"}},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    ds = aio.load_dataset(tmp_path)
    assert ds.transactions.loc[0, "customer_id"] == "A1"
    assert "备注" in ds.transactions.columns  # extra columns pass through


def test_columns_yaml_can_name_the_file_and_sheet(tmp_path):
    df = pd.DataFrame({"customer_id": ["A"], "date": ["2025-01-01"], "amount": [5]})
    with pd.ExcelWriter(tmp_path / "销售明细.xlsx") as xw:
        pd.DataFrame({"x": [1]}).to_excel(xw, sheet_name="说明", index=False)
        df.to_excel(xw, sheet_name="明细", index=False)
    (tmp_path / "columns.yaml").write_text(
        yaml.safe_dump(
            {"files": {"transactions": "销售明细.xlsx"}, "sheets": {"transactions": "明细"}},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    assert aio.load_dataset(tmp_path).transactions["amount"].tolist() == [5.0]


def test_excel_first_sheet_with_real_dates_and_numeric_ids(tmp_path):
    df = pd.DataFrame(
        {
            "客户编号": [1001, 1002],
            "日期": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "金额": [10.0, 20.0],
        }
    )
    df.to_excel(tmp_path / "transactions.xlsx", index=False)
    out = aio.load_dataset(tmp_path).transactions
    assert out["customer_id"].tolist() == ["1001", "1002"]
    assert out["date"].dt.day.tolist() == [1, 2]


def test_parquet(tmp_path):
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "amount": [1.5, 2.5],
            "cost": [1.0, 2.0],
        }
    )
    df.to_parquet(tmp_path / "transactions.parquet")
    out = aio.load_dataset(tmp_path).transactions
    assert out["cost"].sum() == 3.0


def test_two_files_for_one_table_is_an_error(tmp_path):
    (tmp_path / "transactions.csv").write_text("customer_id,date,amount\na,2025-01-01,1\n")
    pd.DataFrame({"customer_id": ["a"], "date": ["2025-01-01"], "amount": [1]}).to_parquet(
        tmp_path / "transactions.parquet"
    )
    with pytest.raises(DataError, match="2 files hold the transactions table"):
        aio.load_dataset(tmp_path)


def test_missing_transactions_file(tmp_path):
    (tmp_path / "customers.csv").write_text("customer_id\na\n")
    with pytest.raises(DataError, match="no transactions file"):
        aio.load_dataset(tmp_path)


def test_inputs_are_never_written(tmp_path):
    path = tmp_path / "transactions.csv"
    path.write_bytes(_csv_text(ROWS_ZH).encode("gbk"))
    before = _digest(path), path.stat().st_mtime_ns
    aio.load_dataset(tmp_path)
    assert (_digest(path), path.stat().st_mtime_ns) == before


def test_write_frame_csv_has_bom_for_excel(tmp_path):
    path = aio.write_frame(pd.DataFrame({"名称": ["客户"]}), tmp_path / "x.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert aio.read_raw(path)["名称"].tolist() == ["客户"]
