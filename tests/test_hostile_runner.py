"""Careless or hostile use of ccm report / run / mask (issue 15, items 3, 4, 14-17).

Every case runs the real command in a subprocess and asserts the exit code, the
message, that no traceback is shown, that the inputs are byte-identical
afterwards and that a good report placed in --out beforehand is unchanged after
a failed run.  The good report is the sample company's report (built once, on a copy of
the sample company, and shared with the report, language and PDF tests:
conftest.sample_report_of), copied for each case.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_tiny_transactions

from analysis.config import PROJECT_ROOT
from analysis.data import io as aio

# every case runs ccm end to end (kernels, a report): part of make test, not of the quick make check;
# the cases using the good report run in the xdist group of the sample report (conftest.SHARED_BUILDS)
pytestmark = pytest.mark.notebook

QUARTER = "2025Q4"
INTERRUPTED = "interrupted; the previous report is unchanged"


def _without_pdf(args):
    """``ccm report`` and ``ccm run`` write report.pdf by default; these tests are about other
    things and the PDF (20-50 s a report) is tested in tests/test_pdf.py."""
    if args and args[0] in ("report", "run") and "--pdf" not in args and "--no-pdf" not in args:
        return (*args, "--no-pdf")
    return args


def ccm(*args, cwd=None, timeout=900) -> subprocess.CompletedProcess:
    args = _without_pdf(args)
    return subprocess.run(
        [sys.executable, "-m", "analysis.tools.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under a folder (relative path -> hash); a missing folder is empty."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def refused(res: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    """Assert a one-paragraph refusal: exit code, 'error: ' prefix, the fragments, no traceback."""
    err = res.stderr
    assert res.returncode == code, (res.returncode, err[-3000:])
    assert "Traceback" not in err + res.stdout
    assert err.startswith("error: "), err[-3000:]
    assert "\n\n" not in err.strip(), "more than one paragraph"
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


@pytest.fixture
def good(sample_firm_dir, sample_report_of):
    """The sample company (a copy of data/sample) and a good report of it, zh, built once per
    session: every case below runs against a copy of that report."""
    return {"data": sample_firm_dir, "reports": sample_report_of("zh").parent}


@pytest.fixture
def case(good, tmp_path):
    """Per case: the good report copied into tmp_path/reports; hashes of inputs and report to compare."""
    reports = tmp_path / "reports"
    shutil.copytree(good["reports"], reports)
    before = {"data": digest(good["data"]), "report": digest(reports / QUARTER)}
    state = {"data": good["data"], "reports": reports, "report": reports / QUARTER, "tmp": tmp_path}
    yield state
    assert digest(good["data"]) == before["data"], "an input file changed"
    if state.get("report_may_change") is not True:
        assert digest(reports / QUARTER) == before["report"], "the good report changed"


def small_firm(folder: Path, n_customers: int = 6) -> Path:
    """A small firm: a few customers over one year, transactions and customers."""
    folder.mkdir(parents=True, exist_ok=True)
    tx = make_tiny_transactions(n_customers=n_customers, start="2025-01-01", end="2025-12-31")
    last = pd.DataFrame(
        {
            "customer_id": [tx["customer_id"].iloc[0]],
            "date": [pd.Timestamp("2025-12-30")],
            "amount": [120.0],
        }
    )
    tx = pd.concat([tx, last], ignore_index=True)  # the data reach the end of 2025Q4
    customers = pd.DataFrame({"customer_id": sorted(tx["customer_id"].unique())})
    customers["name"] = [f"客户{i}" for i in range(len(customers))]
    aio.write_tables({"transactions": tx, "customers": customers}, folder)
    return folder


@pytest.fixture
def small(tmp_path):
    d = small_firm(tmp_path / "small")
    before = digest(d)
    yield d
    assert digest(d) == before, "an input file changed"


# ----------------------------------------------------------------------------- ccm mask (item 3)
def test_mask_out_equal_to_the_data_dir_is_refused(small):
    refused(ccm("mask", "--data-dir", small, "--out", small), "the data folder itself")


def test_mask_out_inside_the_data_dir_is_refused(small):
    res = ccm("mask", "--data-dir", small, "--out", small / "masked")
    refused(res, "inside the data folder")
    assert not (small / "masked").exists()


def test_mask_into_another_firms_folder_is_refused_without_force(small, tmp_path):
    other = small_firm(tmp_path / "other_firm", n_customers=9)
    before = digest(other)
    refused(
        ccm("mask", "--data-dir", small, "--out", other),
        "is not empty",
        "transactions.csv",
        "--force",
    )
    assert digest(other) == before


def test_mask_force_writes_into_a_non_empty_folder(small, tmp_path):
    other = tmp_path / "classroom"
    other.mkdir()
    (other / "README.txt").write_text("for the workshop")
    res = ccm("mask", "--data-dir", small, "--out", other, "--force")
    assert res.returncode == 0, res.stderr
    assert (other / "transactions.csv").exists() and (
        other / "README.txt"
    ).read_text() == "for the workshop"


def test_mask_key_file_on_an_input_is_refused(small):
    refused(
        ccm(
            "mask",
            "--data-dir",
            small,
            "--out",
            small.parent / "m",
            "--key-file",
            small / "customers.csv",
        ),
        "customers.csv",
        "data folder",
    )
    assert not (small.parent / "m").exists()


def test_mask_key_file_inside_the_data_dir_is_refused(small):
    res = ccm(
        "mask", "--data-dir", small, "--out", small.parent / "m", "--key-file", small / "key.csv"
    )
    refused(res, "key.csv", "data folder")
    assert not (small / "key.csv").exists()


def test_mask_existing_key_file_is_kept_without_force(small, tmp_path):
    key = tmp_path / "key.csv"
    key.write_text("original,pseudonym\nold,key\n")
    refused(
        ccm("mask", "--data-dir", small, "--out", tmp_path / "m", "--key-file", key),
        "already exists",
        "--force",
    )
    assert key.read_text() == "original,pseudonym\nold,key\n"


def test_mask_never_overwrites_an_input_named_by_columns_yaml(tmp_path):
    """columns.yaml may read a table from another folder: that file is an input too, even with --force."""
    crm = small_firm(tmp_path / "crm")
    data = tmp_path / "data"
    data.mkdir()
    shutil.move(crm / "transactions.csv", data / "transactions.csv")
    (data / "columns.yaml").write_text(
        "files:\n  customers: ../crm/customers.csv\n", encoding="utf-8"
    )
    before = {**digest(data), **{f"crm/{k}": v for k, v in digest(crm).items()}}
    refused(
        ccm(
            "mask",
            "--data-dir",
            data,
            "--out",
            tmp_path / "m",
            "--key-file",
            crm / "customers.csv",
            "--force",
        ),
        "customers.csv",
        "input",
    )
    refused(ccm("mask", "--data-dir", data, "--out", crm, "--force"), "customers.csv", "input")
    assert {**digest(data), **{f"crm/{k}": v for k, v in digest(crm).items()}} == before


def test_mask_out_is_a_file(small, tmp_path):
    target = tmp_path / "copy.csv"
    target.write_text("keep me")
    refused(ccm("mask", "--data-dir", small, "--out", target), "is a file")
    assert target.read_text() == "keep me"


# ----------------------------------------------------------------------------- params files (item 4)
def test_params_with_a_python_tag_is_one_clear_line(case, tmp_path):
    params = tmp_path / "evil.yaml"
    canary = tmp_path / "pwned"
    params.write_text(
        f"lang: en\nx: !!python/object/apply:os.system ['touch {canary}']\n", encoding="utf-8"
    )
    err = refused(
        ccm("report", "--data-dir", case["data"], "--out", case["reports"], "--params", params),
        "evil.yaml",
        "line 2",
        "python/object/apply:os.system",
        "without !!python tags",
    )
    assert len(err.strip().splitlines()) == 1 and not canary.exists()


def test_params_yaml_syntax_error_names_file_and_line(case, tmp_path):
    params = tmp_path / "typo.yaml"
    params.write_text("lang: en\ntop_n: [1, 2\nabc_cutoff_a: 0.8\n", encoding="utf-8")
    err = refused(
        ccm(
            "run",
            "01_customer_composition",
            "--data-dir",
            case["data"],
            "--out",
            case["reports"],
            "--params",
            params,
        ),
        "typo.yaml",
        "line ",
    )
    assert len(err.strip().splitlines()) == 1


def test_params_file_in_utf16_is_read(case, tmp_path):
    """Excel/Notepad 'Unicode' text: the file is decoded (the unknown key inside it is named)."""
    params = tmp_path / "unicode.yaml"
    params.write_bytes("lang: en\n速度: 3\n".encode("utf-16"))
    refused(
        ccm("report", "--data-dir", case["data"], "--out", case["reports"], "--params", params),
        "unknown key '速度'",
    )


def test_params_file_in_no_known_encoding(case, tmp_path):
    params = tmp_path / "garbled.yaml"
    params.write_bytes(b"lang: en\nname: \xff\xfe\xfd\x80\n")
    err = refused(
        ccm("report", "--data-dir", case["data"], "--out", case["reports"], "--params", params),
        "garbled.yaml",
        "line 2",
        "UTF-8",
    )
    assert len(err.strip().splitlines()) == 1


def test_missing_params_file_is_one_paragraph(case, tmp_path):
    refused(
        ccm(
            "report",
            "--data-dir",
            case["data"],
            "--out",
            case["reports"],
            "--params",
            tmp_path / "nope.yaml",
        ),
        "nope.yaml",
    )


# ----------------------------------------------------------------------------- paths from the cwd (item 14)
def test_missing_path_parameter_is_named_before_anything_runs(case, tmp_path):
    res = ccm(
        "run",
        "04_churn_risk",
        "--data-dir",
        case["data"],
        "--out",
        case["reports"],
        "-p",
        "customer_table=exports/telco.csv",
        cwd=tmp_path,
    )
    refused(res, "customer_table", str(tmp_path / "exports" / "telco.csv"), "no such file")


@pytest.mark.notebook
def test_relative_paths_are_read_from_where_the_command_runs(case, tmp_path):
    telco = PROJECT_ROOT / "data" / "real" / "telco" / "telco_customer_churn.csv"
    (tmp_path / "exports").mkdir()
    pd.read_csv(telco).head(400).to_csv(tmp_path / "exports" / "telco.csv", index=False)
    shutil.copytree(case["data"], tmp_path / "firm")
    (tmp_path / "p.yaml").write_text("lang: zh\n", encoding="utf-8")
    case["report_may_change"] = True  # the churn page is rebuilt from the customer table
    res = ccm(
        "run",
        "04_churn_risk",
        "--data-dir",
        "firm",
        "--out",
        "reports",
        "--params",
        "p.yaml",
        "-p",
        "customer_table=exports/telco.csv",
        "-p",
        "label_col=Churn",
        "-p",
        "id_col=customerID",
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads((case["report"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["04_churn_risk"]["mode"] == "table"
    prov = json.loads((case["report"] / "provenance.json").read_text(encoding="utf-8"))
    assert prov["pages"]["04_churn_risk"]["parameters"]["customer_table"] == str(
        tmp_path / "exports" / "telco.csv"
    )


# ----------------------------------------------------------------------------- --out and interrupts (item 15)
def test_out_pointing_at_a_file(case, tmp_path):
    target = tmp_path / "report.html"
    target.write_text("not a folder")
    refused(ccm("report", "--data-dir", case["data"], "--out", target), "is a file")
    assert target.read_text() == "not a folder"


def test_no_staging_path_in_any_page(good):
    final = good["reports"] / QUARTER
    for page in (
        sorted(final.glob("*.html")) + sorted(final.glob("*.ipynb")) + [final / "summary.json"]
    ):
        text = page.read_text(encoding="utf-8")
        assert ".building-" not in text, page.name
        assert "PosixPath" not in text, page.name


def _free_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_stale_staging_folders_are_removed_on_the_next_run(case):
    dead = case["reports"] / f".{QUARTER}.building-{_free_pid()}"
    other_quarter = case["reports"] / f".2025Q3.building-{_free_pid()}"
    alive = case["reports"] / f".{QUARTER}.building-{os.getpid()}"  # a run still going on
    for d in (dead, other_quarter, alive):
        (d / "summary").mkdir(parents=True)
        (d / "00_data_overview.ipynb").write_text("{}")
    # even a run that stops at a bad parameter tidies up after interrupted runs
    refused(
        ccm(
            "run",
            "00_data_overview",
            "--data-dir",
            case["data"],
            "--out",
            case["reports"],
            "-p",
            "outlier_factor=big",
        ),
        "outlier_factor",
    )
    assert not dead.exists() and not other_quarter.exists() and alive.exists()


def _as_from_a_terminal():
    """Ctrl-C as a shell gives it to a command it starts: the default action, not blocked (a test
    worker's own state is not inherited: two full runs of the suite saw this run ignore it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _signal_state(pid: int) -> str:
    """The signal masks of a process (/proc), for a failure message."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "signal state unknown"
    return " ".join(line for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


@pytest.mark.notebook
def test_interrupted_report_keeps_the_previous_one(case):
    import psutil

    out = case["reports"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "analysis.tools.cli",
            "report",
            "--data-dir",
            str(case["data"]),
            "--out",
            str(out),
            "--jobs",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )
    signals = _signal_state(proc.pid)
    own = out / f".{QUARTER}.building-{proc.pid}"
    deadline = time.monotonic() + 300
    while not own.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert own.exists(), "the run never started"
    time.sleep(6)  # notebooks are running in their kernels now
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)  # slow to stop on a loaded machine
    assert proc.returncode == 130, f"{signals}\n{stderr[-3000:]}"
    assert stderr.strip().splitlines()[-1] == INTERRUPTED
    assert "Traceback" not in stderr + stdout and "KeyboardInterrupt" not in stderr
    assert not list(out.glob(".*building*")) and not (out / f"{QUARTER}.failed").exists()
    time.sleep(2)
    assert not [p.pid for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], (
        "workers or kernels outlived the interrupted run"
    )


# ----------------------------------------------------------------------------- a small firm (item 16)
@pytest.mark.notebook
def test_small_firm_gets_a_report_with_a_note_on_the_churn_page(small, tmp_path):
    out = tmp_path / "reports"
    res = ccm("report", "--data-dir", small, "--out", out, "--jobs", "2", "--lang", "en")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr + res.stdout
    assert "warning: 04_churn_risk" in res.stderr and "too few customers" in res.stderr
    final = next(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    pages = {p.name for p in final.glob("*.html")}
    assert {
        "index.html",
        "00_data_overview.html",
        "01_customer_composition.html",
        "04_churn_risk.html",
    } <= pages
    churn_page = (final / "04_churn_risk.html").read_text(encoding="utf-8")
    assert "could not be computed" in churn_page and "too few customers" in churn_page
    assert "Traceback" not in churn_page and "InsufficientData" not in churn_page
    summary = json.loads((final / "summary.json").read_text(encoding="utf-8"))
    assert "too few customers" in summary["04_churn_risk"]["not_computed"]
    assert "could not be computed" in (final / "index.html").read_text(encoding="utf-8")
    assert not (out / f"{final.name}.failed").exists()


# ----------------------------------------------------------------------------- other data, same --out (item 17)
def test_run_with_other_data_into_a_report_is_refused(case, small):
    refused(
        ccm("run", "00_data_overview", "--data-dir", small, "--out", case["reports"]),
        "other data",
        "ccm report",
    )


def test_run_in_another_language_into_a_report_is_refused(case):
    refused(
        ccm(
            "run",
            "00_data_overview",
            "--data-dir",
            case["data"],
            "--out",
            case["reports"],
            "--lang",
            "en",
        ),
        "zh",
        "en",
    )


def test_run_into_a_report_without_a_fingerprint_is_refused(case):
    (case["report"] / "provenance.json").unlink()
    case["report_may_change"] = (
        True  # the fingerprint was removed on purpose; every other file must stay
    )
    before = digest(case["report"])
    refused(
        ccm("run", "00_data_overview", "--data-dir", case["data"], "--out", case["reports"]),
        "provenance.json",
        "ccm report",
    )
    assert digest(case["report"]) == before


def test_good_report_records_its_data_and_parameters(good):
    prov = json.loads((good["reports"] / QUARTER / "provenance.json").read_text(encoding="utf-8"))
    files = {f["name"]: f for f in prov["data"]["files"]}
    tx = good["data"] / "transactions.csv"
    assert files["transactions.csv"]["size"] == tx.stat().st_size
    assert files["transactions.csv"]["sha256"] == hashlib.sha256(tx.read_bytes()).hexdigest()
    assert prov["quarter"] == QUARTER and prov["lang"] == "zh"
    assert set(prov["pages"]) >= {"00_data_overview", "07_credit_limits"}
