"""A report worker keeps one kernel for its pages: each page still starts as in a fresh kernel."""

from __future__ import annotations

import json
import warnings

import nbformat
import pytest

from analysis.report import kernel, runner


# ------------------------------------------------------------------ prepare(), in process
@pytest.fixture
def shell(monkeypatch):
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(kernel, "_FRESH", None)
    monkeypatch.setattr(kernel, "_RELEASER", [])  # prepare() starts this kernel's releasing thread
    # IPython replaces these process-wide (its own __main__ has no __spec__, which breaks
    # multiprocessing in later tests of this worker): put them back afterwards
    for name in ("displayhook", "excepthook"):
        monkeypatch.setattr(sys, name, getattr(sys, name))
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    yield InteractiveShell.instance()
    InteractiveShell.clear_instance()
    for stop in kernel._RELEASER:
        stop.set()


def test_prepare_forgets_the_page_before(shell, monkeypatch):
    import matplotlib as mpl
    import pandas as pd

    from analysis.viz import tables

    filters = list(warnings.filters)
    assert kernel.prepare(shell) is False  # the kernel's first page: nothing to forget
    size = mpl.rcParams["font.size"]
    # a page: a variable, a setting, a warning filter, a pandas option, an embedded library
    shell.run_cell("leftover = 1")
    mpl.rcParams["font.size"] = size + 7
    warnings.simplefilter("ignore", DeprecationWarning)
    pd.set_option("display.max_rows", 3)
    monkeypatch.setattr(tables, "_loaded", True)
    try:
        assert kernel.prepare(shell) is True
        assert "leftover" not in shell.user_ns
        assert mpl.rcParams["font.size"] == size
        assert warnings.filters == filters
        assert pd.get_option("display.max_rows") == 60
        assert tables._loaded is False  # the next page embeds DataTables again
        assert shell.execution_count == 1
    finally:
        warnings.filters[:] = filters
        mpl.rcParams["font.size"] = size
        pd.reset_option("display.max_rows")


def test_every_cell_of_every_page_lets_go_of_the_mapped_lines(shell, monkeypatch):
    from analysis.data import validated

    calls = []
    monkeypatch.setattr(validated, "release_mapped_pages", lambda: calls.append(1) or 0)
    try:
        kernel.prepare(shell)
        shell.run_cell("x = 1")
        assert len(calls) == 1
        kernel.prepare(shell)  # the next page: still once per cell, not twice
        shell.run_cell("y = 2")
        shell.run_cell("z = 3")
        assert len(calls) == 3
    finally:
        shell.events.unregister("post_run_cell", kernel.after_cell)


# ------------------------------------------------------------------ two pages, one kernel
def _page(tmp_path, name: str, cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("marker = 0")]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / f"{name}.ipynb")
    return name


@pytest.mark.notebook
def test_pages_in_a_kept_kernel_start_fresh_and_show_their_charts(tmp_path):
    first = _page(
        tmp_path,
        "first",
        [
            "import os, matplotlib as mpl\nleftover = os.getpid()\nmpl.rcParams['font.size'] = 31",
            "print(leftover)",
        ],
    )
    second = _page(
        tmp_path,
        "second",
        [
            "import os, matplotlib as mpl\nprint(os.getpid(), 'leftover' in dir(), mpl.rcParams['font.size'])",
            "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])",
        ],
    )
    out = tmp_path / "out"
    out.mkdir()
    try:
        results = [
            runner.execute(name, out, {"marker": 1}, nb_dir=tmp_path, keep_kernel=True)
            for name in (first, second)
        ]
    finally:
        runner.stop_kept_kernel()
    assert [r.error for r in results] == [None, None]
    one = json.loads((out / "first.ipynb").read_text("utf-8"))
    two = json.loads((out / "second.ipynb").read_text("utf-8"))
    pid = one["cells"][-1]["outputs"][0]["text"][0].split()[0]
    seen = two["cells"][-2]["outputs"][0]["text"][0].split()
    assert seen[0] == pid, "the second page ran in the first page's kernel"
    assert seen[1:] == ["False", "10.0"], "no variable and no setting of the page before"
    assert "image/png" in json.dumps(two["cells"][-1]["outputs"]), "its chart is shown"
    counts = [c["execution_count"] for c in two["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.notebook
def test_a_kept_kernel_over_the_memory_limit_is_replaced(tmp_path):
    page = _page(tmp_path, "page", ["import os\nprint(os.getpid())"])
    out = tmp_path / "out"
    out.mkdir()

    def kernel_pid() -> str:
        result = runner.execute(page, out, {}, nb_dir=tmp_path, keep_kernel=True)
        assert result.error is None
        nb = json.loads((out / "page.ipynb").read_text("utf-8"))
        return nb["cells"][-1]["outputs"][0]["text"][0].strip()

    try:
        first = kernel_pid()
        assert runner.kept_kernel_rss_mb() > 20
        assert runner.release_large_kernel({runner.KERNEL_KEEP_ENV: "100000"}) is False
        assert kernel_pid() == first  # under the limit: kept
        assert runner.release_large_kernel({runner.KERNEL_KEEP_ENV: "1"}) is True
        assert runner.kept_kernel_rss_mb() is None
        assert kernel_pid() != first  # over it: the next page gets a new kernel
    finally:
        runner.stop_kept_kernel()


@pytest.mark.notebook
def test_a_kernel_that_cannot_be_prepared_fails_the_page_with_a_message(tmp_path, monkeypatch):
    page = _page(tmp_path, "page", ["print(1)"])
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(runner, "_PREPARE_PAGE", "1 / 0")
    try:
        result = runner.execute(page, out, {}, nb_dir=tmp_path, keep_kernel=True)
    finally:
        runner.stop_kept_kernel()
    assert result.error.startswith("RuntimeError: the kept kernel could not be prepared")
    assert "ZeroDivisionError" in result.error


# ------------------------------------------------------------------ kernels warmed early
@pytest.mark.notebook
def test_a_pool_warms_its_kernel_with_the_pages_environment_before_the_first_page(tmp_path):
    import time

    page = _page(
        tmp_path,
        "page",
        [
            # before any import of the page: the kernel already holds the pages' modules
            "import os, sys\nprint('analysis.report.context' in sys.modules, os.environ['CCM_TEST_WARM'])",
            "print('marker' in dir(), 'leftover' in dir())",
        ],
    )
    out = tmp_path / "out"
    out.mkdir()
    with runner.PagePool(1, nb_dir=tmp_path, env={"CCM_TEST_WARM": "yes"}) as pool:
        time.sleep(0.5)  # the data would be read now
        results = runner.run_notebooks(
            [page], {page: {"marker": 1}}, out, progress=False, nb_dir=tmp_path, pool=pool
        )
    assert [r.error for r in results] == [None]
    cells = json.loads((out / "page.ipynb").read_text("utf-8"))["cells"]
    assert cells[-2]["outputs"][0]["text"][0].split() == ["True", "yes"]
    assert cells[-1]["outputs"][0]["text"][0].split() == ["True", "False"]


@pytest.mark.notebook
def test_a_page_worker_holds_neither_pandas_nor_pyarrow(tmp_path):
    # the worker runs papermill and nbconvert only; the pages' kernels read the data (issue 14)
    look = "import os\nmaps = open(f'/proc/{os.getppid()}/maps').read()\n"
    look += "print('pandas/_libs' in maps, 'libarrow' in maps, 'numpy' in maps)"
    pages = [_page(tmp_path, "first", ["print(1)"]), _page(tmp_path, "second", [look])]
    out = tmp_path / "out"
    out.mkdir()
    finish = {"final": str(tmp_path / "final"), "lang": "en", "html": True, "quarter": "2025Q4"}
    with runner.PagePool(1, nb_dir=tmp_path, env={}) as pool:
        results = runner.run_notebooks(
            pages,
            {p: {"marker": 1} for p in pages},
            out,
            progress=False,
            nb_dir=tmp_path,
            pool=pool,
            finish=finish,
        )
    assert [r.error for r in results] == [None, None]
    assert (out / "first.html").is_file()  # the worker converted the first page meanwhile
    cells = json.loads((out / "second.ipynb").read_text("utf-8"))["cells"]
    assert cells[-1]["outputs"][0]["text"][0].split() == ["False", "False", "False"]


def test_a_warm_up_that_fails_leaves_the_first_page_a_kernel_of_its_own(monkeypatch, tmp_path):
    monkeypatch.setattr(runner, "WARM_UP", "raise SystemExit")  # the kernel dies while warming
    try:
        assert runner.warm_kept_kernel(tmp_path) is False
        assert runner.kept_kernel_rss_mb() is None  # no half-started kernel kept
    finally:
        runner.stop_kept_kernel()


def test_a_data_error_stops_the_warming_workers_and_kernels(tmp_path):
    import psutil

    from analysis.data.validation import DataError

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "transactions.csv").write_text("customer_id,date,amount\na,2025-13-01,1\n")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.raises(DataError):
        runner.build_report(bad, out=tmp_path / "r", progress=False, params_dir=None, jobs=2)
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    left = [p for p in left if "resource_tracker" not in " ".join(p.cmdline())]
    assert left == []


@pytest.mark.notebook
def test_a_page_is_cleared_from_its_kernel_before_the_memory_is_measured(tmp_path):
    # a page leaving 400 MB behind: measured before clearing, its kernel would be replaced
    page = _page(tmp_path, "page", ["import numpy as np\nbig = np.ones(50_000_000)"])
    out = tmp_path / "out"
    out.mkdir()
    try:
        assert runner.execute(page, out, {}, nb_dir=tmp_path, keep_kernel=True).error is None
        held = runner.kept_kernel_rss_mb()
        assert held > 400
        assert runner.forget_page() is True
        assert runner.kept_kernel_rss_mb() < held - 300
        assert runner.release_large_kernel({runner.KERNEL_KEEP_ENV: str(held - 200)}) is False
    finally:
        runner.stop_kept_kernel()
    assert runner.forget_page() is False  # no kernel: nothing to clear
