"""Shared fixtures: tiny datasets written to tmp folders, and a real papermill notebook runner."""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def sample_report_of(tmp_path_factory, sample_dir):
    """The sample company's report in a language, built once per test session and shared
    (read-only) by the tests of the xdist group ``sample_report``: a build takes a minute or two."""
    from analysis.report.runner import build_report

    built = {}

    def build(lang: str = "zh") -> Path:
        if lang not in built:
            out = tmp_path_factory.mktemp(f"sample-report-{lang}")
            built[lang] = build_report(sample_dir, out=out, lang=lang, jobs=2, progress=False)
        return built[lang]

    return build
