"""The io layer's plain files (analysis.data.files): what the page workers write without pandas."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.data import files, io


def test_json_keeps_chinese_and_writes_numpy_and_pandas_values(tmp_path):
    path = files.write_json(
        {"客户": np.int64(3), "share": np.float64(0.25), "as_of": pd.Timestamp("2025-12-31")},
        tmp_path / "deep" / "summary.json",
    )
    text = path.read_text(encoding="utf-8")
    assert '"客户": 3' in text and '"share": 0.25' in text
    assert files.read_json(path) == {"客户": 3, "share": 0.25, "as_of": "2025-12-31T00:00:00"}


def test_json_names_a_value_it_cannot_write(tmp_path):
    with pytest.raises(TypeError, match="not JSON serialisable: set"):
        files.write_json({"a": {1, 2}}, tmp_path / "x.json")


def test_text_is_written_with_unix_line_ends_and_a_stale_file_removed(tmp_path):
    path = files.write_text("一\n二\n", tmp_path / "sub" / "page.html")
    assert path.read_bytes() == "一\n二\n".encode()
    assert files.read_text(path) == "一\n二\n"
    assert files.remove_file(path) is True and not path.exists()
    assert files.remove_file(path) is False


def test_io_re_exports_them():
    assert io.write_json is files.write_json and io.read_notebook is files.read_notebook


def test_importing_them_loads_neither_pandas_nor_pyarrow():
    code = (
        "import sys, analysis.data.files; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
