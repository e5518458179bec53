"""Large data come as several Parquet files: a folder (Spark's output) or a glob in columns.yaml."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data import io as aio
from analysis.data.validation import DataError
from analysis.report.runner import data_fingerprint


@pytest.fixture
def lines():
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C1", "C3", "C2"],
            "date": pd.to_datetime(
                ["2025-01-02", "2025-01-03", "2025-02-01", "2025-03-04", "2025-03-05"]
            ),
            "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
        }
    )


def _parts(lines, folder):
    folder.mkdir(parents=True)
    aio.write_frame(lines.iloc[:2], folder / "part-0.parquet")
    aio.write_frame(lines.iloc[2:], folder / "part-1.parquet")


def test_a_folder_of_parquet_files_is_one_table(lines, tmp_path):
    _parts(lines, tmp_path / "transactions" / "year=2025")
    ds = aio.load_dataset(tmp_path, today="2026-01-01")
    got = ds.transactions.sort_values(["date", "customer_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[lines.columns], lines, check_dtype=False)
    assert ds.sources["transactions"] == tmp_path / "transactions"
    names = [f["name"] for f in data_fingerprint(ds)["files"]]
    assert names == ["part-0.parquet", "part-1.parquet"]


def test_a_glob_in_columns_yaml_names_the_files(lines, tmp_path):
    _parts(lines, tmp_path / "exports")
    aio.write_frame(lines.head(1), tmp_path / "exports" / "other.parquet")  # not matched
    (tmp_path / "columns.yaml").write_text("files:\n  transactions: exports/part-*.parquet\n")
    ds = aio.load_dataset(tmp_path, today="2026-01-01")
    assert len(ds.transactions) == 5
    assert aio.table_parts(ds.sources["transactions"]) == [
        tmp_path / "exports" / "part-0.parquet",
        tmp_path / "exports" / "part-1.parquet",
    ]


def test_a_glob_that_matches_nothing_is_named(tmp_path):
    (tmp_path / "columns.yaml").write_text("files:\n  transactions: exports/tx-*.parquet\n")
    with pytest.raises(DataError, match=r"exports/tx-\*\.parquet"):
        aio.load_dataset(tmp_path, today="2026-01-01")


def test_a_file_and_a_folder_for_one_table_is_an_error(lines, tmp_path):
    _parts(lines, tmp_path / "transactions")
    aio.write_frame(lines, tmp_path / "transactions.parquet")
    with pytest.raises(DataError, match="2 files hold the transactions table"):
        aio.load_dataset(tmp_path, today="2026-01-01")
