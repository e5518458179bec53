"""The Spark path hands a pandas frame to Spark once, and reads the run's validated copy.

``ccm report --engine spark`` at a million lines used to convert the whole frame with
``createDataFrame`` on every summary: the local driver's heap filled on the second call and
the page hung.  A local session now reads Parquet: the validated table's own file (its
timestamps in nanoseconds, which Spark reads only as integers) or a copy written once.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import as_validated

from analysis.engine.aggregate import customer_summary

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

LINES = [
    # customer, timestamp (nanoseconds matter), amount, cost
    ("K01", "2025-01-03 09:00:00", 100.0, 60.0),
    ("K01", "2025-01-03 23:59:59.999999999", 50.0, 30.0),  # the same day, to the last ns
    ("K01", "2025-02-10 00:00:00.000000001", -20.0, -12.0),  # a return, 1 ns into the day
    ("K02", "1969-12-31 23:59:59.999999500", 80.0, 50.0),  # before 1970: day -1, not 0
    ("K02", "1970-01-01 00:00:00", 40.0, 20.0),  # day 0
    ("K03", "2025-03-31 23:59:59.999999999", 25.0, np.nan),  # inside [.., 2025-04-01)
    ("K03", "2025-04-01 00:00:00", 10.0, 5.0),  # the as_of instant itself: outside
]


@pytest.fixture
def tx() -> pd.DataFrame:
    df = pd.DataFrame(LINES, columns=["customer_id", "date", "amount", "cost"])
    return df.assign(
        customer_id=df["customer_id"].astype("str"),
        date=pd.to_datetime(df["date"], format="ISO8601").astype("datetime64[ns]"),
    )


@pytest.fixture
def validated_tx(tx, tmp_path):
    """``tx`` as a report run's kernel holds it: read back from the validated copy."""
    return as_validated(tx, tmp_path)


def _files(sdf) -> list[str]:
    return [Path(f.removeprefix("file://")).name for f in sdf.inputFiles()]


def test_validated_table_is_read_from_its_parquet_file(validated_tx, spark):
    from analysis.engine.spark import spark_lines

    frame, path = validated_tx
    needed = ["customer_id", "date", "amount", "cost"]
    sdf = spark_lines(frame, needed, "date", spark)
    assert _files(sdf) == [path.name] and path.parent.name == "kept"
    assert sdf.columns == needed  # not the line-number column
    assert spark_lines(frame, needed, "date", spark) is sdf  # once per frame


@pytest.mark.parametrize(
    "window", [{}, {"as_of": "2025-04-01"}, {"start": "1970-01-01", "as_of": "2025-02-10"}]
)
def test_validated_table_equals_reference(validated_tx, spark, window):
    from analysis.engine.spark import customer_summary_spark

    frame, _ = validated_tx
    ref = customer_summary(frame, engine="pandas", abc=(0.75, 0.95), **window)
    got = customer_summary_spark(frame, spark=spark, abc=(0.75, 0.95), **window)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)


def test_nanosecond_days_by_hand(validated_tx, spark):
    from analysis.engine.spark import customer_summary_spark

    frame, _ = validated_tx
    got = customer_summary_spark(frame, spark=spark, as_of="2025-04-01").set_index("customer_id")
    # K01: two lines on 2025-01-03 are one purchase; K02: 1969-12-31 and 1970-01-01 are two
    assert got.loc["K01", "frequency"] == 1 and got.loc["K01", "n_lines"] == 3
    assert got.loc["K02", "first_date"] == pd.Timestamp("1969-12-31")
    assert got.loc["K02", "frequency"] == 2 and got.loc["K02", "avg_interval_days"] == 1.0
    # K03: the line at the as_of instant is outside the window
    assert got.loc["K03", "n_lines"] == 1 and got.loc["K03", "monetary"] == 25.0
    assert got.loc["K03", "last_date"] == pd.Timestamp("2025-03-31")


def test_plain_frame_is_copied_once_and_the_copy_removed(tx, spark):
    from analysis.engine.spark import customer_summary_spark, spark_lines

    frame = tx.copy()
    sdf = spark_lines(frame, ["customer_id", "date", "amount"], "date", spark)
    (copy,) = [Path(f.removeprefix("file://")) for f in sdf.inputFiles()]
    assert copy.name.startswith("lines_") and copy.is_file()
    assert spark_lines(frame, ["customer_id", "date", "amount"], "date", spark) is sdf
    ref = customer_summary(frame, engine="pandas", start="1970-01-01")
    pd.testing.assert_frame_equal(
        customer_summary_spark(frame, spark=spark, start="1970-01-01"), ref, check_exact=True
    )
    del frame, sdf
    gc.collect()
    assert not copy.exists()


def test_a_new_frame_is_not_served_the_old_lines(tx, spark):
    from analysis.engine.spark import customer_summary_spark

    first = customer_summary_spark(tx.copy(), spark=spark)
    gc.collect()  # the next frame may take the freed address
    other = tx.assign(amount=tx["amount"] * 2)
    got = customer_summary_spark(other, spark=spark)
    assert got["monetary"].tolist() == [2 * m for m in first["monetary"]]


def test_default_session_is_reused_and_exits_on_out_of_memory(spark):
    from analysis.engine.spark import default_session

    assert default_session() is default_session()
    opts = spark.sparkContext.getConf().get("spark.driver.extraJavaOptions", "")
    assert "-XX:+ExitOnOutOfMemoryError" in opts


def test_copies_of_a_report_run_live_in_its_staging_folder(tmp_path, monkeypatch):
    from analysis.data.validated import ENV_VAR
    from analysis.engine import spark as sp

    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    monkeypatch.setattr(sp, "_SCRATCH", [])
    folder = sp._scratch_dir()
    assert folder.parent == tmp_path and folder.name.startswith("ccm_spark_")
    assert sp._scratch_dir() == folder  # one per process
