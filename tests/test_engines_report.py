"""The whole report gives the same numbers whichever engine aggregates the lines.

``ccm report --engine`` sets what ``engine="auto"`` means in every page's kernel
(:func:`analysis.engine.aggregate.default_engine`).  The report of a small generated firm
(every table, 80 customers) is built with the pandas reference, with DuckDB and with Spark;
every number of summary.json must agree within 1e-9 (relative) — the in-memory path against
the engine path, and DuckDB against Spark.
"""

from __future__ import annotations

import json
import shutil

import pytest

from analysis.engine import aggregate
from analysis.report.records import summary_differences as differences

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("engines_report")]


def test_differences_sees_a_change_past_the_tolerance():
    want = {"a": 1.0, "b": "x", "c": [1, 2]}
    assert differences(want, want) == []
    assert differences({"a": 1.0 + 1e-12, "b": "x", "c": [1, 2]}, want) == []
    assert differences({"a": 1.0 + 1e-6, "b": "y", "c": [1]}, want) == [
        "only in one: c/1",
        "a: 1.0 -> 1.000001",
        "b: 'x' -> 'y'",
    ]


def test_default_engine_follows_the_environment(monkeypatch):
    monkeypatch.delenv(aggregate.ENGINE_ENV, raising=False)
    assert aggregate.default_engine() == "auto"
    monkeypatch.setenv(aggregate.ENGINE_ENV, "DuckDB")
    assert aggregate.default_engine() == "duckdb"
    monkeypatch.setenv(aggregate.ENGINE_ENV, "polars")
    with pytest.raises(ValueError, match="CCM_ENGINE='polars'"):
        aggregate.default_engine()


def test_auto_takes_the_engine_the_environment_names(monkeypatch):
    import pandas as pd

    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-05", "2025-01-03"]),
            "amount": [10.0, 5.0, 7.0],
        }
    )
    calls = []
    real = aggregate._summary_duckdb
    monkeypatch.setattr(
        aggregate, "_summary_duckdb", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    monkeypatch.setenv(aggregate.ENGINE_ENV, "duckdb")
    via_duckdb = aggregate.customer_summary(tx, as_of="2025-02-01")
    assert calls == [1]  # three lines: auto alone would have taken pandas
    monkeypatch.setenv(aggregate.ENGINE_ENV, "pandas")
    pd.testing.assert_frame_equal(aggregate.customer_summary(tx, as_of="2025-02-01"), via_duckdb)
    assert calls == [1]


@pytest.fixture(scope="module")
def small_firm(tmp_path_factory):
    from analysis.data.sample import write_sample

    data = tmp_path_factory.mktemp("engines") / "data"
    write_sample(data, n_customers=80)
    return data


def _summary(small_firm, tmp_path_factory, engine: str) -> dict:
    from analysis.report.runner import build_report

    out = tmp_path_factory.mktemp(f"report_{engine}")
    final = build_report(small_firm, out=out, jobs=2, progress=False, html=False, engine=engine)
    summary = json.loads((final / "summary.json").read_text(encoding="utf-8"))
    shutil.rmtree(out, ignore_errors=True)
    return summary


@pytest.fixture(scope="module")
def by_engine(small_firm, tmp_path_factory):
    return {e: _summary(small_firm, tmp_path_factory, e) for e in ("pandas", "duckdb")}


def test_engine_path_equals_in_memory_path_on_every_page(by_engine):
    pandas, duckdb = by_engine["pandas"], by_engine["duckdb"]
    assert sorted(pandas) == sorted(duckdb) and len(pandas) >= 10
    assert differences(duckdb, pandas) == []


@pytest.mark.spark
def test_spark_equals_duckdb_on_every_page(by_engine, small_firm, tmp_path_factory):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17+ (not found)")
    spark = _summary(small_firm, tmp_path_factory, "spark")
    assert differences(spark, by_engine["duckdb"]) == []
