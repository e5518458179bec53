"""Shared fixtures: tiny datasets written to tmp folders, and a real papermill notebook runner.

``make test`` runs ``pytest -n 2 --dist loadgroup``: a module or session fixture is built once
per xdist worker, so every test using an expensive one (a whole report) is in one
``xdist_group`` and runs on one worker.  The hook below keeps that working on pytest 9.2.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import SAMPLE_DIR
from analysis.data import io as aio
from analysis.report.runner import run_one


def make_tiny_transactions(
    n_customers: int = 40, seed: int = 7, start="2023-01-01", end="2025-12-31"
) -> pd.DataFrame:
    """Transactions only: heavy-tailed sizes, some customers leave, a few returns."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    rows = []
    for i in range(n_customers):
        size = rng.lognormal(8, 1.2)
        rate = rng.uniform(0.01, 0.08)
        first = rng.integers(0, len(days) // 2)
        last = len(days) if rng.random() < 0.7 else rng.integers(first + 30, len(days))
        buys = np.flatnonzero(rng.random(last - first) < rate) + first
        for d in buys:
            rows.append((f"K{i:03d}", days[d], round(size * rng.uniform(0.5, 1.5), 2)))
        if len(buys) > 2 and rng.random() < 0.2:
            rows.append((f"K{i:03d}", days[buys[-1]], -round(size * 0.3, 2)))
    return (
        pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
        .sort_values(["date", "customer_id"], kind="stable")
        .reset_index(drop=True)
    )


# Fixtures (session or module) that build something expensive: every test using one (directly or
# through another fixture) is put in the fixture's xdist group, so that one worker builds it, once.
SHARED_BUILDS = {
    "sample_report_of": "sample_report",  # the sample company's report, zh (with PDF) and en
    "hostile_report": "hostile_report",  # test_injection: a report of hostile names
    "masked_sample": "masked_sample",  # test_mask: a masked copy of the sample
}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Group the tests for ``--dist loadgroup``: ``<nodeid>@<group>`` is what pytest-xdist reads.

    pytest-xdist 3.8 appends the group to ``item._nodeid``; since pytest 9.2 the node id is
    ``item._id`` (a structured NodeId), so xdist's suffix is lost and every ``xdist_group`` is
    ignored: a group's tests are spread over both workers and each worker builds the group's
    report (pytest-xdist issue #1386).  This hook sets the suffix on either attribute; it also
    puts the users of SHARED_BUILDS in their group.
    """
    if not config.getoption("loadgroup", False):  # set on xdist workers with --dist loadgroup
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2
        NodeId = None
    for item in items:
        for fixture, group in SHARED_BUILDS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))
        groups = {
            str(m.args[0] if m.args else m.kwargs.get("name", "default"))
            for m in item.iter_markers("xdist_group")
        }
        if not groups:
            continue
        suffix = "@" + "_".join(sorted(groups))
        if item.nodeid.endswith(suffix):
            continue
        if NodeId is not None and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(item.nodeid + suffix)
        else:
            item._nodeid = item.nodeid + suffix


@pytest.fixture(scope="session")
def tiny_tx_dir(tmp_path_factory) -> Path:
    """A data directory holding only transactions.csv (customer_id, date, amount)."""
    d = tmp_path_factory.mktemp("tiny_tx")
    aio.write_tables({"transactions": make_tiny_transactions()}, d)
    return d


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    if not (SAMPLE_DIR / "transactions.csv").exists():
        pytest.skip("data/sample has not been generated")
    return SAMPLE_DIR


@pytest.fixture
def run_notebook(tmp_path):
    """Execute notebooks/<name>.ipynb through papermill; return its recorded summary dict."""

    def _run(name: str, data_dir, **params) -> dict:
        out = tmp_path / "out"
        summary = run_one(name, data_dir=data_dir, out_dir=out, params=params)
        return summary

    return _run


SAMPLE_FIRM = "华东医药"


@pytest.fixture(scope="session")
def sample_firm_dir(tmp_path_factory, sample_dir) -> Path:
    """data/sample copied into a folder named like a firm (a report's PDF cover takes the data
    folder's name); the sample report is built from it.  Read-only."""
    d = tmp_path_factory.mktemp("sample-firm") / SAMPLE_FIRM
    shutil.copytree(sample_dir, d)
    return d


@pytest.fixture(scope="session")
def sample_report_of(tmp_path_factory, sample_firm_dir):
    """The sample company's report in a language, built once per test session (per xdist
    worker: its users are in the xdist group ``sample_report``, see SHARED_BUILDS) and shared
    read-only: a build takes a minute or two.  The zh report is built as ``make report`` builds
    it, with report.pdf (tests/test_pdf.py reads it); the en report without."""
    from analysis.report.runner import build_report

    built = {}

    def build(lang: str = "zh") -> Path:
        if lang not in built:
            out = tmp_path_factory.mktemp(f"sample-report-{lang}")
            built[lang] = build_report(
                sample_firm_dir, out=out, lang=lang, jobs=2, progress=False, pdf=lang == "zh"
            )
        return built[lang]

    return build


@pytest.fixture(scope="session")
def sample_page(sample_report_of):
    """``page(name, lang="zh")``: (summary record, report folder) of one page of the sample
    report, i.e. what the page's notebook, run through papermill on the sample company with the
    default parameters, recorded and wrote (its staff tables are in the report folder)."""

    def page(name: str, lang: str = "zh") -> tuple[dict, Path]:
        final = sample_report_of(lang)
        summary = json.loads((final / "summary.json").read_text(encoding="utf-8"))
        return summary[name], final

    return page


def as_validated(tx: pd.DataFrame, tmp_path: Path) -> tuple[pd.DataFrame, Path]:
    """``tx`` as a report run's kernel holds it: written to a validated copy and read back (so it
    carries the run's identity), with the copy's Parquet file."""
    from analysis.data import validated

    ds = aio.Dataset(data_dir=tmp_path / "data")
    ds.tables["transactions"] = tx
    ds.sources["transactions"] = tmp_path / "data" / "transactions.csv"
    ds.lines["transactions"] = np.arange(2, len(tx) + 2)
    folder = validated.write_validated(ds, tmp_path / "kept")
    back = validated.read_validated(folder, tmp_path / "data")
    return back.tables["transactions"], folder / "transactions.parquet"


@pytest.fixture(scope="module")
def spark():
    """A local Spark session for a test module (skipped without pyspark or Java)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17+ on PATH")
    from analysis.engine.spark import local_session

    session = local_session("local[1]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture
def spark_queries(spark, monkeypatch):
    """The module's Spark session as the default one; the list of the Spark queries run (their
    SQL text, through ``analysis.engine.spark.sql_frame``).  The engine is pandas unless a test
    says otherwise, so that references are computed in pandas."""
    from analysis.engine import aggregate as ag, spark as sp

    monkeypatch.setattr(sp, "default_session", lambda: spark)
    seen: list[str] = []
    real = sp.sql_frame
    monkeypatch.setattr(sp, "sql_frame", lambda s, sql: seen.append(sql) or real(s, sql))
    monkeypatch.setenv(ag.ENGINE_ENV, "pandas")
    return seen


@pytest.fixture
def spark_route(monkeypatch):
    """A function: from its call on, CCM_ENGINE=spark and DuckDB out of reach (a step that
    tries DuckDB fails the test)."""
    from analysis.engine import aggregate as ag, windows as w

    def route():
        monkeypatch.setenv(ag.ENGINE_ENV, "spark")
        monkeypatch.setattr(w, "on_lines", lambda *a, **k: pytest.fail("DuckDB used"))

    return route
