"""The runner's validated copy of the data: same tables, dtypes and line numbers as the files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import SAMPLE_DIR
from analysis.data import io as aio, validated
from analysis.engine import aggregate
from analysis.report.context import load_data


@pytest.fixture(scope="module")
def sample():
    return aio.load_dataset(SAMPLE_DIR)


@pytest.mark.parametrize("arrow", [True, False], ids=["pyarrow", "duckdb"])
def test_round_trip_keeps_every_table_dtype_and_line(sample, tmp_path, monkeypatch, arrow):
    if arrow and not aggregate.arrow_available():
        pytest.skip("pyarrow is not installed")
    monkeypatch.setattr(aggregate, "arrow_available", lambda: arrow)
    folder = validated.write_validated(sample, tmp_path / "kept")
    back = validated.read_validated(folder, SAMPLE_DIR)
    assert back is not None
    assert sorted(back.tables) == sorted(sample.tables)
    for name, df in sample.tables.items():
        pd.testing.assert_frame_equal(back[name], df, check_exact=True)
        np.testing.assert_array_equal(back.lines[name], sample.lines[name])
        assert back.sources[name] == sample.sources[name].resolve()


def test_copy_of_other_data_is_not_used(sample, tmp_path):
    folder = validated.write_validated(sample, tmp_path / "kept")
    assert validated.read_validated(folder, tmp_path) is None
    assert validated.read_validated(tmp_path / "missing", SAMPLE_DIR) is None


def test_page_reads_the_runners_copy_when_it_names_the_folder(sample, tmp_path, monkeypatch):
    # a copy with the first 10 lines only: a page that read the files would see them all
    short = aio.Dataset(data_dir=SAMPLE_DIR)
    short.tables["transactions"] = sample.transactions.head(10)
    short.lines["transactions"] = sample.lines["transactions"][:10]
    short.sources["transactions"] = sample.sources["transactions"]
    folder = validated.write_validated(short, tmp_path / "kept")
    monkeypatch.setenv(validated.ENV_VAR, str(folder))
    assert len(load_data(SAMPLE_DIR).transactions) == 10
    monkeypatch.setenv(validated.ENV_VAR, str(tmp_path / "gone"))
    assert len(load_data(SAMPLE_DIR).transactions) == len(sample.transactions)


def test_folder_must_be_new(sample, tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(FileExistsError):
        validated.write_validated(sample, tmp_path / "kept")


# ------------------------------------------------------------------ results shared by the pages
def _counting():
    calls = []

    def total(df, as_of, *, scale: float = 1.0):
        calls.append(as_of)
        return df["amount"].sum() * scale

    return validated.shared_result(total), calls


def test_shared_result_computes_once_per_run_for_equal_arguments(sample, tmp_path, monkeypatch):
    total, calls = _counting()
    tx = sample.transactions
    monkeypatch.setenv(validated.ENV_VAR, str(validated.write_validated(sample, tmp_path / "k")))
    first = total(tx, pd.Timestamp("2026-01-01"))
    # another page: the same data (a copy), the default written out -> loaded, not computed
    again = total(tx.copy(), pd.Timestamp("2026-01-01"), scale=1.0)
    assert first == again == pytest.approx(tx["amount"].sum())
    assert len(calls) == 1
    total(tx.head(100), pd.Timestamp("2026-01-01"))  # other data
    total(tx, pd.Timestamp("2026-01-01"), scale=2.0)  # another argument
    assert len(calls) == 3


def _slow_square(x: int, calls_file: str) -> int:
    import time

    with open(calls_file, "a") as fh:
        fh.write("computed\n")
    time.sleep(1.0)
    return x * x


def test_two_pages_asking_at_once_compute_a_shared_result_once(sample, tmp_path, monkeypatch):
    import multiprocessing

    monkeypatch.setenv(validated.ENV_VAR, str(validated.write_validated(sample, tmp_path / "k")))
    calls = tmp_path / "calls.txt"
    shared = validated.shared_result(_slow_square)

    def page(n: int) -> None:  # a kernel of the run: asks, writes down what it got
        (tmp_path / f"page{n}.txt").write_text(str(shared(7, str(calls))))

    fork = multiprocessing.get_context("fork")
    pages = [fork.Process(target=page, args=(n,)) for n in (1, 2)]
    for proc in pages:  # both ask within the same second
        proc.start()
    for proc in pages:
        proc.join(60)
    assert [(tmp_path / f"page{n}.txt").read_text() for n in (1, 2)] == ["49", "49"]
    assert calls.read_text().splitlines() == ["computed"]


def test_shared_result_outside_a_run_is_the_function(sample, monkeypatch):
    total, calls = _counting()
    monkeypatch.delenv(validated.ENV_VAR, raising=False)
    total(sample.transactions, 1)
    total(sample.transactions, 1)
    assert len(calls) == 2


def test_an_argument_without_a_stable_key_is_never_shared(sample, tmp_path, monkeypatch):
    total, calls = _counting()
    monkeypatch.setenv(validated.ENV_VAR, str(validated.write_validated(sample, tmp_path / "k")))
    total(sample.transactions, object())
    total(sample.transactions, object())
    assert len(calls) == 2


def test_a_validated_table_is_keyed_by_its_identity_not_hashed_again(sample, tmp_path, monkeypatch):
    from analysis.data.periods import Quarter

    folder = validated.write_validated(sample, tmp_path / "k")
    monkeypatch.setenv(validated.ENV_VAR, str(folder))
    page_a = validated.read_validated(folder, SAMPLE_DIR).transactions  # two kernels' copies
    page_b = validated.read_validated(folder, SAMPLE_DIR).transactions
    key = validated.shared_key("f", lambda tx, q: None, (page_a, Quarter.parse("2025Q4")), {})
    assert key == validated.shared_key("f", lambda tx, q: None, (page_b, Quarter(2025, 4)), {})
    # a copy is hashed by content: same lines, but not the validated table's identity
    assert key != validated.shared_key(
        "f", lambda tx, q: None, (page_a.copy(), Quarter(2025, 4)), {}
    )
    assert key != validated.shared_key("f", lambda tx, q: None, (page_a, Quarter(2025, 3)), {})


def test_validated_only_shares_the_run_tables_and_computes_the_rest(sample, tmp_path, monkeypatch):
    calls = []

    def n_lines(tx):
        calls.append(1)
        return len(tx)

    shared = validated.shared_result(n_lines, validated_only=True)
    folder = validated.write_validated(sample, tmp_path / "k")
    monkeypatch.setenv(validated.ENV_VAR, str(folder))
    tx = validated.read_validated(folder, SAMPLE_DIR).transactions
    assert shared(tx) == shared(tx) == len(sample.transactions)
    assert len(calls) == 1
    shared(tx.head(50))  # a slice: computed each time, never hashed
    shared(tx.head(50))
    assert len(calls) == 3
    assert len(list((folder / validated.SHARED_DIR).glob("n_lines-*"))) == 1  # the one kept


# ------------------------------------------------------------------ the runner's one validation
@pytest.mark.parametrize("child", [False, True], ids=["in_process", "child_process"])
def test_prepare_data_keeps_the_validated_copy_either_way(sample, tmp_path, child):
    from analysis.report.runner import data_fingerprint, prepare_data

    q, fp = prepare_data(SAMPLE_DIR, "", tmp_path / "kept", child=child)
    assert q == "2025Q4" and fp == data_fingerprint(sample)
    back = validated.read_validated(tmp_path / "kept", SAMPLE_DIR)
    pd.testing.assert_frame_equal(back.transactions, sample.transactions)


def test_a_data_error_in_the_child_is_the_same_error(tmp_path):
    from analysis.data.validation import DataError
    from analysis.report.runner import prepare_data

    (tmp_path / "transactions.csv").write_text(
        "customer_id,date,amount\nC1,2025-01-02,12\nC2,2025-13-40,5\n", encoding="utf-8"
    )
    errors = []
    for child in (False, True):
        with pytest.raises(DataError) as info:
            prepare_data(tmp_path, "", tmp_path / f"kept{child}", child=child)
        errors.append((str(info.value), info.value.file, info.value.column, info.value.rows))
    assert errors[0] == errors[1]
    assert "transactions.csv" in errors[0][0] and errors[0][3] == [3]
    with pytest.raises(ValueError, match="outside the data"):
        prepare_data(SAMPLE_DIR, "2031Q1", tmp_path / "k3", child=True)


def test_a_kernel_reads_the_copy_once_and_each_page_gets_tables_of_its_own(
    sample, tmp_path, monkeypatch
):
    """Without pyarrow there is no mapped copy: the Parquet copy is read once per kernel."""
    with monkeypatch.context() as m:
        m.setattr(aggregate, "arrow_available", lambda: False)
        folder = validated.write_validated(sample, tmp_path / "kept")
    assert not list(folder.glob(f"*{validated.MAPPED_SUFFIX}"))
    reads = []
    real = validated._read_kept
    monkeypatch.setattr(validated, "_read_kept", lambda path: reads.append(path) or real(path))
    first = validated.read_validated(folder, SAMPLE_DIR)
    n_tables = len(reads)
    assert n_tables == len(sample.tables)
    second = validated.read_validated(folder, SAMPLE_DIR)
    assert len(reads) == n_tables  # the next page: not read again
    tx = second.transactions
    assert tx is not first.transactions
    pd.testing.assert_frame_equal(tx, sample.transactions, check_exact=True)
    assert validated.validated_identity(tx) == f"{folder.resolve()}:transactions"
    # a page that changes its tables changes only its own
    tx["amount"] = 0.0
    tx.loc[tx.index[0], "customer_id"] = "changed"
    with pytest.raises(ValueError):
        second.lines["transactions"][0] = -1
    third = validated.read_validated(folder, SAMPLE_DIR)
    pd.testing.assert_frame_equal(third.transactions, sample.transactions, check_exact=True)
    np.testing.assert_array_equal(third.lines["transactions"], sample.lines["transactions"])


def test_a_rewritten_copy_is_read_again(sample, tmp_path):
    import shutil

    folder = validated.write_validated(sample, tmp_path / "kept")
    assert len(validated.read_validated(folder, SAMPLE_DIR).transactions) == len(
        sample.transactions
    )
    short = aio.Dataset(data_dir=SAMPLE_DIR)
    short.tables["transactions"] = sample.transactions.head(7)
    short.lines["transactions"] = sample.lines["transactions"][:7]
    short.sources["transactions"] = sample.sources["transactions"]
    shutil.rmtree(folder)
    validated.write_validated(short, folder)
    assert len(validated.read_validated(folder, SAMPLE_DIR).transactions) == 7


def test_pages_map_the_arrow_copy_without_reading_it(sample, tmp_path):
    if not aggregate.arrow_available():
        pytest.skip("pyarrow is not installed")
    folder = validated.write_validated(sample, tmp_path / "kept")
    assert sorted(p.stem for p in folder.glob(f"*{validated.MAPPED_SUFFIX}")) == sorted(
        sample.tables
    )
    first = validated.read_validated(folder, SAMPLE_DIR)
    tx = first.transactions
    pd.testing.assert_frame_equal(tx, sample.transactions, check_exact=True)
    amounts = tx["amount"].to_numpy()
    # a view of the file, not a copy: not owned, not writeable
    assert not amounts.flags.owndata and not amounts.flags.writeable
    assert validated.validated_identity(tx) == f"{folder.resolve()}:transactions"
    # a page that changes its tables changes only its own
    tx["amount"] = 0.0
    tx.loc[tx.index[0], "customer_id"] = "changed"
    first["customers"].loc[first["customers"].index[0], first["customers"].columns[0]] = "x"
    with pytest.raises(ValueError):
        first.lines["transactions"][0] = -1
    second = validated.read_validated(folder, SAMPLE_DIR)
    for name, df in sample.tables.items():
        pd.testing.assert_frame_equal(second[name], df, check_exact=True)
        np.testing.assert_array_equal(second.lines[name], sample.lines[name])


def _resident_kb(path) -> int:
    """Resident kB of this process's maps of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5:  # a mapping's header line
                inside = parts[-1] == str(path)
            elif inside and parts[0] == "Rss:":
                total += int(parts[1])
    return total


@pytest.fixture
def mapped(sample, tmp_path):
    """Some MB of mapped lines, their file and their sum of amounts."""
    if not aggregate.arrow_available():
        pytest.skip("pyarrow is not installed")
    if not Path("/proc/self/smaps").exists():
        pytest.skip("no /proc/self/smaps to measure the map")
    big = pd.concat([sample.transactions] * 40, ignore_index=True)
    lines = {"transactions": np.arange(2, len(big) + 2)}
    ds = dataclasses.replace(sample, tables={"transactions": big}, lines=lines)
    folder = validated.write_validated(ds, tmp_path / "kept")
    path = (folder / f"transactions{validated.MAPPED_SUFFIX}").resolve()
    return validated.read_validated(folder, SAMPLE_DIR).transactions, path, big


def test_touched_pages_of_the_mapped_lines_are_let_go(mapped):
    tx, path, big = mapped
    total = tx["amount"].sum()
    touched = _resident_kb(path)
    assert touched > 0
    assert validated.release_mapped_pages() >= 1
    assert _resident_kb(path) < touched / 4
    # the frame is still whole: a read maps the pages again
    assert tx["amount"].sum() == total
    pd.testing.assert_frame_equal(tx, big, check_exact=True)


def test_a_report_kernel_lets_go_of_them_while_a_cell_runs(mapped, monkeypatch):
    import time

    from analysis.report import kernel

    tx, path, big = mapped
    monkeypatch.setattr(kernel, "_RELEASER", [])
    stop = kernel.release_pages_meanwhile(every=0.05)
    try:
        assert kernel.release_pages_meanwhile() is stop  # one thread per kernel
        total = tx["amount"].sum()  # a long cell: it touched the lines and goes on
        deadline = time.monotonic() + 5
        while _resident_kb(path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _resident_kb(path) == 0
        assert tx["amount"].sum() == total
    finally:
        stop.set()


def test_a_damaged_mapped_copy_is_not_used(sample, tmp_path):
    if not aggregate.arrow_available():
        pytest.skip("pyarrow is not installed")
    folder = validated.write_validated(sample, tmp_path / "kept")
    path = folder / f"transactions{validated.MAPPED_SUFFIX}"
    path.write_bytes(path.read_bytes()[:100])
    assert validated.read_validated(folder, SAMPLE_DIR) is None
