"""The ccm command end to end: bad input ends in one clear paragraph; real formats produce reports."""

import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import make_tiny_transactions


def _without_pdf(args):
    """``ccm report`` and ``ccm run`` write report.pdf by default; these tests are about other
    things and the PDF (20-50 s a report) is tested in tests/test_pdf.py."""
    if args and args[0] in ("report", "run") and "--pdf" not in args and "--no-pdf" not in args:
        return (*args, "--no-pdf")
    return args


def ccm(*args, timeout=600):
    args = _without_pdf(args)
    return subprocess.run(
        [sys.executable, "-m", "analysis.tools.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


BAD = {
    "missing column": (
        b"customer_id,date\na,2025-01-01\n",
        "column 'amount': required column missing",
    ),
    "text in amount": (
        b"customer_id,date,amount\na,2025-01-01,12\na,2025-01-02,abc\n",
        "are not numbers: line 3 'abc'",
    ),
    "impossible date": (
        b"customer_id,date,amount\na,2025-02-31,12\n",
        "not valid dates: line 2 '2025-02-31'",
    ),
    "empty file": (b"", "the file is empty"),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file, not CSV text"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_paragraph_nonzero_and_untouched(tmp_path, case):
    content, expected = BAD[case]
    path = tmp_path / "data" / "transactions.csv"
    path.parent.mkdir()
    path.write_bytes(content)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    res = ccm("report", "--data-dir", path.parent, "--out", tmp_path / "reports")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stderr.startswith("error: transactions.csv") and expected in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_bad_params_are_reported_before_running(tmp_path, tiny_tx_dir):
    res = ccm("report", "--data-dir", tiny_tx_dir, "--out", tmp_path, "-p", "outlier_factor=big")
    assert res.returncode == 2 and "'outlier_factor' must be float" in res.stderr
    assert "Traceback" not in res.stderr and not list(tmp_path.iterdir())


def test_check_and_params_commands(tiny_tx_dir):
    res = ccm("check", "--data-dir", tiny_tx_dir)
    assert res.returncode == 0 and "default quarter 2025Q4" in res.stdout
    res = ccm("params", "00_data_overview")
    assert "outlier_factor" in res.stdout and "float" in res.stdout


def _chinese_export(tmp_path):
    tx = make_tiny_transactions(n_customers=25)
    zh = tx.rename(columns={"customer_id": "客户代号", "date": "业务日期", "amount": "销售净额"})
    zh["date_text"] = zh.pop("业务日期").dt.strftime("%Y/%m/%d")
    zh = zh.rename(columns={"date_text": "业务日期"})
    mapping = {
        "transactions": {"客户代号": "customer_id", "业务日期": "date", "销售净额": "amount"}
    }
    return zh, yaml.safe_dump(mapping, allow_unicode=True)


@pytest.mark.notebook
@pytest.mark.xdist_group("report")
def test_gbk_csv_with_chinese_headers_gives_a_full_report(tmp_path):
    zh, mapping = _chinese_export(tmp_path)
    d = tmp_path / "gbk"
    d.mkdir()
    (d / "transactions.csv").write_bytes(zh.to_csv(index=False).encode("gbk"))
    (d / "columns.yaml").write_text(mapping, encoding="utf-8")
    res = ccm(
        "report", "--data-dir", d, "--out", tmp_path / "reports", "--jobs", "2", "--lang", "en"
    )
    assert res.returncode == 0, res.stderr[-3000:]
    final = tmp_path / "reports" / "2025Q4"
    summary = json.loads((final / "summary.json").read_text())
    assert summary["00_data_overview"]["customers"] == zh["客户代号"].nunique()
    assert (final / "index.html").exists() and (final / "00_data_overview.html").exists()


@pytest.mark.notebook
@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_excel_and_parquet_exports_give_a_report(tmp_path, fmt):
    zh, mapping = _chinese_export(tmp_path)
    d = tmp_path / fmt
    d.mkdir()
    (d / "columns.yaml").write_text(mapping, encoding="utf-8")
    getattr(zh, "to_excel" if fmt == "xlsx" else "to_parquet")(
        d / f"transactions.{fmt}", index=False
    )
    res = ccm("run", "00_data_overview", "--data-dir", d, "--out", tmp_path / "reports")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((tmp_path / "reports" / "2025Q4" / "summary.json").read_text())
    assert summary["00_data_overview"]["sales"] == pytest.approx(
        zh.loc[pd.to_datetime(zh["业务日期"]) >= "2025-10-01", "销售净额"].sum()
    )


def test_mask_command_writes_a_pseudonymised_copy(tmp_path, tiny_tx_dir):
    res = ccm("mask", "--data-dir", tiny_tx_dir, "--out", tmp_path / "masked", "--scale", "0.5")
    assert res.returncode == 0, res.stderr
    orig = pd.read_csv(tiny_tx_dir / "transactions.csv")
    masked = pd.read_csv(tmp_path / "masked" / "transactions.csv")
    assert not set(orig["customer_id"]) & set(masked["customer_id"])
    assert masked["amount"].sum() == pytest.approx(orig["amount"].sum() * 0.5, rel=1e-6)
    again = ccm("mask", "--data-dir", tiny_tx_dir, "--out", tiny_tx_dir)
    assert again.returncode == 2 and "Traceback" not in again.stderr


def test_workshop_build_command(tmp_path):
    res = ccm("workshop", "build", "--out", tmp_path / "student")
    assert res.returncode == 0, res.stderr
    assert len(list((tmp_path / "student").glob("*.ipynb"))) == 7


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["report", "--jobs", "99"],
            "error: Invalid value for '--jobs' / '-j': 99 is not in the range 1<=x<=16.",
        ),
        (["frobnicate"], "error: No such command 'frobnicate'."),
        (["mask", "--data-dir", "."], "error: Missing option '--out'."),
    ],
)
def test_usage_errors_are_one_line(args, expected):
    res = ccm(*args)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith(expected) and len(res.stderr.strip().splitlines()) == 1
