"""Every report notebook is committed clean and follows the skeleton (STYLE.md)."""

import ast
import re

import nbformat
import pytest

from analysis.config import NOTEBOOK_DIR
from analysis.report.runner import STANDARD_PARAMS, discover_notebooks, notebook_parameters

ALL = sorted(NOTEBOOK_DIR.rglob("*.ipynb"))
REPORT = discover_notebooks()


def test_there_are_report_notebooks():
    assert "00_data_overview" in REPORT


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOK_DIR)))
def test_committed_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("name", REPORT)
def test_one_parameters_cell_of_typed_documented_literals(name):
    nb = nbformat.read(str(NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    # one assignment per parameter; a long literal may span lines (its help on the last line)
    body = ast.parse(tagged[0].source).body
    assigned = [n for n in body if isinstance(n, ast.AnnAssign | ast.Assign)]
    params = notebook_parameters(name)
    assert len(params) == len(assigned), (
        "a parameter papermill cannot parse (a second '=' in a comment?)"
    )
    assert list(params)[:4] == list(STANDARD_PARAMS)
    for key, spec in params.items():
        assert spec["type"] != "None", f"{name}: parameter {key} has no type annotation"
        assert spec["help"], f"{name}: parameter {key} has no help comment"


@pytest.mark.parametrize("name", REPORT)
def test_sets_up_and_records(name):
    cells = [
        c.source
        for c in nbformat.read(str(NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4).cells
        if c.cell_type == "code"
    ]
    src = "\n".join(cells)
    assert re.search(rf'setup\(\s*"{name}"', src) and "ctx.record(" in src
    for cell in cells:
        defs = [
            n
            for n in ast.walk(ast.parse(cell))
            if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))
        ]
        assert not defs, (
            f"{name}: functions and classes belong in src/analysis, not in a notebook cell"
        )


def _only_imports(source: str) -> bool:
    body = ast.parse(source).body
    return bool(body) and all(isinstance(n, ast.Import | ast.ImportFrom) for n in body)


@pytest.mark.parametrize("name", REPORT)
def test_code_cells_stay_short(name):
    # STYLE: a cell over ~10 lines belongs in src/analysis (the parameters cell and the one
    # imports cell, which ruff lays out one name per line, are the exceptions)
    nb = nbformat.read(str(NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4)
    long = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and "parameters" not in c.metadata.get("tags", [])
        and not _only_imports(c.source)
        and len(c.source.splitlines()) > 10
    ]
    assert not long, f"{name}: cells {long} are longer than 10 lines"


# per-call display options that belong in the label files (issue 13 item 2): formats and codes
_FORMAT_ARGS = re.compile(r"\b(money|pct|ints|coded|decimals|precise)\s*=")
_LINTED = [p for p in ALL if "student" not in p.parts]


@pytest.mark.parametrize("path", _LINTED, ids=lambda p: str(p.relative_to(NOTEBOOK_DIR)))
def test_code_lines_fit_and_pass_no_format_lists(path):
    # STYLE: a cell is one analysis call and one show (ctx.show): headers and formats come from
    # the label files, so no cell lists money=, pct=, ints=, coded= ...; lines stay readable
    nb = nbformat.read(str(path), as_version=4)
    long, formats = [], []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code":
            continue
        long += [f"cell {i}: {len(ln)} chars" for ln in c.source.splitlines() if len(ln) > 100]
        formats += [f"cell {i}: {m.group(0)}" for m in _FORMAT_ARGS.finditer(c.source)]
    assert not long, f"{path.name}: code lines over 100 characters: {long}"
    assert not formats, f"{path.name}: per-call format lists (use the label files): {formats}"
