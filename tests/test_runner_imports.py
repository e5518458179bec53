"""The report's runner and workers start light: each import is paid by every process of a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECK = """
import sys
import analysis.report.runner, analysis.report.context, papermill, nbconvert, nbformat
nbformat.validate(nbformat.read("notebooks/01_customer_composition.ipynb", as_version=4))
print(sorted(m for m in ("seaborn", "scipy.stats", "rfc3987_syntax") if sys.modules.get(m)))
"""


@pytest.mark.slow
def test_the_runner_imports_neither_seaborn_nor_the_iri_grammars():
    from analysis.config import PROJECT_ROOT

    out = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    # seaborn and scipy (1 s) come with the pages' kernels, not the runner; rfc3987_syntax
    # (38 lark grammars, 1.2 s) is never needed to read or validate a notebook
    assert out.stdout.strip() == "[]"


FONT = """
import sys
from analysis.report.runner import cached_font_subset
cached_font_subset("客户")  # cut once (the cache may be cold)
for m in [m for m in sys.modules if m.split(".")[0] in ("seaborn", "scipy", "matplotlib")]:
    del sys.modules[m]
sys.modules.pop("analysis.viz.style", None)
cached_font_subset("客户")  # now from the cache
print(sorted(m for m in ("seaborn", "scipy.stats", "analysis.viz.style") if sys.modules.get(m)))
"""


@pytest.mark.slow
def test_a_cached_font_subset_imports_no_chart_style(tmp_path):
    from analysis.config import PROJECT_ROOT

    env = {**os.environ, "CCM_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", FONT],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    # the chart style (seaborn, scipy: 2 s) was imported after the last page, on the way to
    # the cache, in the runner that assembles the report
    assert out.stdout.strip() == "[]"


ENGINE_MODULES = sorted(
    f"analysis.engine.{p.stem}"
    for p in (Path(__file__).parents[1] / "src/analysis/engine").glob("*.py")
    if p.stem != "__init__"
)


@pytest.mark.slow
@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_each_engine_module_imports_first_in_a_fresh_process(module):
    # engine.history_sql imported first once raised a circular ImportError (it imports
    # analysis.churn, whose features imported it back)
    out = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
