"""The report runner: params checks, failure path (previous report intact), HTML and index."""

import json

import nbformat
import pytest

from analysis.report.runner import (
    ReportError,
    build_report,
    coerce,
    discover_notebooks,
    notebook_parameters,
    parse_overrides,
    resolve_params,
    to_html,
)

STANDARD = """data_dir: str = ""  # data folder
quarter: str = ""  # quarter
lang: str = "zh"  # language
output_dir: str = ""  # output folder
top_n: int = 10  # rows shown
cutoff: float = 0.75  # a share
fail: bool = False  # raise in the body
short: bool = False  # raise InsufficientData in the body
customer_table: str = ""  # path of a table file"""

BODY = """from analysis.report.context import setup
from analysis.errors import InsufficientData
ctx = setup("{name}", data_dir=data_dir, quarter=quarter, lang=lang, output_dir=output_dir)
print("computed before the model")
if fail:
    raise RuntimeError("boom in {name}")
if short:
    raise InsufficientData("too few customers in one class to fit a model (0 churned, 6 stayed)")
ctx.record({{"rows": len(ctx.data.transactions), "top_n": top_n}})"""

TAIL = "## A section after the model"


def _notebook(path, name):
    cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        nbformat.v4.new_code_cell(STANDARD, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(BODY.format(name=name)),
        nbformat.v4.new_markdown_cell(TAIL),
        nbformat.v4.new_code_cell("ctx.save_table(ctx.data.transactions.head(3), 'head')"),
    ]
    nb = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}
        },
    )
    nbformat.write(nb, str(path / f"{name}.ipynb"))


@pytest.fixture
def nb_dir(tmp_path):
    d = tmp_path / "notebooks"
    d.mkdir()
    _notebook(d, "00_first")
    _notebook(d, "01_second")
    (d / "scratch.ipynb").write_text("{}")  # not a report notebook: no NN_ prefix
    return d


def test_discover_only_numbered_notebooks(nb_dir):
    assert discover_notebooks(nb_dir) == ["00_first", "01_second"]


def test_parameters_are_read_with_types_and_help(nb_dir):
    params = notebook_parameters("00_first", nb_dir)
    assert params["top_n"] == {"type": "int", "default": "10", "help": "rows shown"}


def test_params_file_sections_and_common_keys(nb_dir):
    conf = {"lang": "en", "01_second": {"top_n": 3}}
    out = resolve_params(["00_first", "01_second"], conf, {"cutoff": "0.8"}, nb_dir=nb_dir)
    assert out["00_first"] == {"lang": "en", "cutoff": 0.8}
    assert out["01_second"] == {"lang": "en", "top_n": 3, "cutoff": 0.8}


def test_unknown_key_is_an_error_before_anything_runs(nb_dir):
    with pytest.raises(ReportError, match="'colour' is not a parameter of 01_second"):
        resolve_params(["00_first", "01_second"], {"01_second": {"colour": "red"}}, nb_dir=nb_dir)
    with pytest.raises(ReportError, match="unknown key 'speed'"):
        resolve_params(["00_first"], {"speed": 3}, nb_dir=nb_dir)
    with pytest.raises(ReportError, match="-p nope: no notebook in this run declares 'nope'"):
        resolve_params(["00_first"], {}, {"nope": "1"}, nb_dir=nb_dir)


def test_wrong_type_is_an_error(nb_dir):
    with pytest.raises(ReportError, match=r"'top_n' must be int \(default 10\), got str 'ten'"):
        resolve_params(["00_first"], {"top_n": "ten"}, nb_dir=nb_dir)
    with pytest.raises(ReportError, match="'fail' must be bool"):
        resolve_params(["00_first"], {}, {"fail": "3"}, nb_dir=nb_dir)


def test_runner_params_cannot_come_from_files(nb_dir):
    with pytest.raises(ReportError, match="'data_dir' is set by the runner"):
        resolve_params(["00_first"], {"data_dir": "/x"}, nb_dir=nb_dir)


def test_notebook_scoped_override(nb_dir):
    out = resolve_params(["00_first", "01_second"], {}, {"01_second.top_n": "4"}, nb_dir=nb_dir)
    assert out["01_second"] == {"top_n": 4} and out["00_first"] == {}


def test_coerce_and_parse_overrides():
    assert coerce("5", "float") == 5.0 and isinstance(coerce("5", "float"), float)
    assert coerce("true", "bool") is True and coerce("0.8", "str") == "0.8"
    assert parse_overrides(["a=1", "b.c=x=y"]) == {"a": "1", "b.c": "x=y"}
    with pytest.raises(ReportError, match="expected key=value"):
        parse_overrides(["oops"])


@pytest.mark.notebook
def test_failed_run_keeps_previous_report_and_partial_notebook(nb_dir, tiny_tx_dir, tmp_path):
    out = tmp_path / "reports"
    final = build_report(
        tiny_tx_dir, out=out, nb_dir=nb_dir, jobs=2, progress=False, params_dir=None
    )
    assert final.name == "2025Q4"
    good = {p.name: p.read_bytes() for p in final.iterdir() if p.is_file()}
    assert {"index.html", "summary.json", "00_first.html", "01_second.ipynb"} <= set(good)
    summary = json.loads((final / "summary.json").read_text())
    assert summary["01_second"]["top_n"] == 10 and summary["00_first"]["rows"] > 100

    with pytest.raises(
        ReportError,
        match=r"01_second failed at cell \d+: RuntimeError: boom in 01_second.*previous report.*unchanged",
    ):
        build_report(
            tiny_tx_dir,
            out=out,
            nb_dir=nb_dir,
            overrides={"01_second.fail": "true"},
            progress=False,
            params_dir=None,
        )
    assert {p.name: p.read_bytes() for p in final.iterdir() if p.is_file()} == good
    kept = out / "2025Q4.failed" / "01_second.ipynb"
    assert kept.exists() and "boom in 01_second" in kept.read_text()
    assert not list(out.glob(".*building*"))


@pytest.mark.notebook
def test_html_hides_code(nb_dir, tiny_tx_dir, tmp_path):
    final = build_report(
        tiny_tx_dir,
        out=tmp_path / "r",
        nb_dir=nb_dir,
        notebooks=["00_first"],
        progress=False,
        params_dir=None,
    )
    html = (final / "00_first.html").read_text()
    assert "ctx.record" not in html and "from analysis.report.context import setup" not in html
    index = (final / "index.html").read_text()
    assert 'href="00_first.html"' in index and "01_second" not in index
    assert ">00_first</a>" in index  # the page title: the notebook's first heading


def test_to_html_of_an_executed_notebook(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "secret_code = 1",
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="visible output")],
            )
        ]
    )
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, str(path))
    html = to_html(path).read_text()
    assert "visible output" in html and "secret_code" not in html


def test_data_error_stops_before_any_notebook(nb_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "transactions.csv").write_text("customer_id,date,amount\na,2025-13-01,1\n")
    from analysis.data.validation import DataError

    with pytest.raises(DataError, match="not valid dates"):
        build_report(bad, out=tmp_path / "r", nb_dir=nb_dir, progress=False, params_dir=None)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_index_headlines_are_labelled_and_formatted():
    from analysis.report.runner import _headlines

    values = {
        "sales": 1234567.8,
        "gross_margin_rate": 0.1477,
        "orders": 12000,
        "auc": 0.9004,
        "ledger_balanced": True,
        "sales_change_vs_previous": 0.2925,
        "quarter": "2025Q4",
        "tables": ["x"],
        "no_label_here": 3,
    }
    assert dict(_headlines("00_data_overview", values, "en")) == {
        "Sales this quarter": "¥1,234,568",
        "Gross margin rate this quarter": "14.8%",
        "Orders this quarter": "12,000",
        "Churn model test AUC": "0.900",
        "Adjustments balance (total unchanged)": "✓",
        "Sales vs previous quarter": "+29.2%",
    }  # a number without a label is not shown: no raw key on the index
    assert dict(_headlines("00_data_overview", values, "zh"))["本季度销售额"] == "123.5万元"


@pytest.mark.notebook
def test_run_one_notebook_keeps_the_other_pages(nb_dir, tiny_tx_dir, tmp_path):
    out = tmp_path / "r"
    build_report(
        tiny_tx_dir, out=out, nb_dir=nb_dir, notebooks=["00_first"], progress=False, params_dir=None
    )
    final = build_report(
        tiny_tx_dir,
        out=out,
        nb_dir=nb_dir,
        notebooks=["01_second"],
        merge=True,
        overrides={"top_n": "3"},
        progress=False,
        params_dir=None,
    )
    summary = json.loads((final / "summary.json").read_text())
    assert set(summary) == {"00_first", "01_second"} and summary["01_second"]["top_n"] == 3
    index = (final / "index.html").read_text()
    assert 'href="00_first.html"' in index and 'href="01_second.html"' in index


# ----------------------------------------------------------------------------- hostile use (issue 15)
def test_a_relative_path_parameter_is_read_from_the_cwd(nb_dir, tmp_path, monkeypatch):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "t.csv").write_text("a\n1\n")
    monkeypatch.chdir(tmp_path)
    out = resolve_params(["00_first"], {}, {"customer_table": "exports/t.csv"}, nb_dir=nb_dir)
    assert out["00_first"]["customer_table"] == str(tmp_path / "exports" / "t.csv")
    with pytest.raises(
        ReportError,
        match=r"'customer_table' names .*nope.csv, but there is no such file "
        r"\(a relative path is read from the folder the command runs in\)",
    ):
        resolve_params(["00_first"], {}, {"customer_table": "nope.csv"}, nb_dir=nb_dir)


def test_a_path_in_a_params_file_is_read_from_its_folder(nb_dir, tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "t.csv").write_text("a\n1\n")
    monkeypatch.chdir(nb_dir)  # anywhere else
    out = resolve_params(
        ["00_first"], {"customer_table": "t.csv"}, nb_dir=nb_dir, params_dir=tmp_path / "params"
    )
    assert out["00_first"]["customer_table"] == str(tmp_path / "params" / "t.csv")


def test_every_file_parameter_of_the_report_notebooks_is_resolved():
    """A str parameter whose help speaks of a path or file must be in PATH_PARAMS (else it is read from notebooks/)."""
    from analysis.report.runner import PATH_PARAMS, RUNNER_PARAMS

    for nb in discover_notebooks():
        for name, spec in notebook_parameters(nb).items():
            if (
                spec["type"] == "str"
                and name not in RUNNER_PARAMS
                and any(w in spec["help"].lower() for w in ("path", "file"))
            ):
                assert name in PATH_PARAMS, f"{nb}: {name}"


@pytest.mark.notebook
def test_a_page_stopped_by_insufficient_data_stands_with_a_note(nb_dir, tiny_tx_dir, tmp_path):
    out = tmp_path / "r"
    final = build_report(
        tiny_tx_dir,
        out=out,
        nb_dir=nb_dir,
        overrides={"01_second.short": "true", "lang": "en"},
        progress=False,
        params_dir=None,
        jobs=2,
    )
    page = (final / "01_second.html").read_text()
    assert "computed before the model" in page  # what ran before the model stays
    assert "The rest of this page could not be computed: too few customers in one class" in page
    assert (
        "A section after the model" not in page
        and "InsufficientData" not in page
        and "Traceback" not in page
    )
    assert "An Exception was encountered" not in page
    summary = json.loads((final / "summary.json").read_text())
    assert (
        summary["01_second"]["not_computed"].startswith("too few customers")
        and "rows" in summary["00_first"]
    )
    assert "could not be computed" in (final / "index.html").read_text()
    assert not (out / "2025Q4.failed").exists()
    from analysis.report.runner import not_computed_pages

    assert list(not_computed_pages(final)) == ["01_second"]


@pytest.mark.notebook
def test_staging_path_appears_nowhere_and_provenance_is_recorded(nb_dir, tiny_tx_dir, tmp_path):
    final = build_report(
        tiny_tx_dir,
        out=tmp_path / "r",
        nb_dir=nb_dir,
        notebooks=["00_first"],
        progress=False,
        params_dir=None,
        overrides={"top_n": "4"},
    )
    for page in list(final.glob("*.html")) + list(final.glob("*.ipynb")):
        text = page.read_text()
        assert ".building-" not in text and "PosixPath" not in text, page.name
    assert (
        str(final) in (final / "00_first.ipynb").read_text()
    )  # the parameters name the report folder
    prov = json.loads((final / "provenance.json").read_text())
    assert prov["quarter"] == "2025Q4" and prov["lang"] == "zh"
    assert prov["pages"]["00_first"]["parameters"] == {"top_n": 4}
    assert [f["name"] for f in prov["data"]["files"]] == ["transactions.csv"]


@pytest.mark.notebook
def test_run_refuses_a_report_of_other_data(nb_dir, tiny_tx_dir, tmp_path):
    out = tmp_path / "r"
    final = build_report(
        tiny_tx_dir, out=out, nb_dir=nb_dir, notebooks=["00_first"], progress=False, params_dir=None
    )
    good = {p.name: p.read_bytes() for p in final.iterdir() if p.is_file()}
    other = tmp_path / "other"
    other.mkdir()
    text = (tiny_tx_dir / "transactions.csv").read_text()
    (other / "transactions.csv").write_text(text.replace(",1", ",2", 1))
    with pytest.raises(
        ReportError, match=r"holds a report of other data \(transactions.csv differs;"
    ):
        build_report(
            other,
            out=out,
            nb_dir=nb_dir,
            notebooks=["01_second"],
            merge=True,
            progress=False,
            params_dir=None,
        )
    with pytest.raises(
        ReportError, match="is a report in 'zh' and this run would add a page in 'en'"
    ):
        build_report(
            tiny_tx_dir,
            out=out,
            nb_dir=nb_dir,
            notebooks=["01_second"],
            merge=True,
            lang="en",
            progress=False,
            params_dir=None,
        )
    assert {p.name: p.read_bytes() for p in final.iterdir() if p.is_file()} == good
    # a whole new report of the other data replaces it (no mixing: every page is rebuilt)
    build_report(
        other, out=out, nb_dir=nb_dir, notebooks=["00_first"], progress=False, params_dir=None
    )


def test_data_differences_are_named():
    from analysis.report.runner import _data_differences

    a = [
        {"table": "transactions", "name": "transactions.csv", "size": 10, "sha256": "x"},
        {"table": "customers", "name": "customers.csv", "size": 5, "sha256": "y"},
    ]
    b = [
        {"table": "transactions", "name": "transactions.csv", "size": 10, "sha256": "z"},
        {"table": "products", "name": "products.xlsx", "size": 5, "sha256": "y"},
    ]
    assert _data_differences(a, b) == [
        "customers.csv is not in this run's data",
        "products.xlsx was not in the report's data",
        "transactions.csv differs",
    ]
    assert _data_differences(a, list(reversed(a))) == []


def test_stale_builds_are_removed_and_a_half_swapped_report_restored(tmp_path):
    import os

    from analysis.report.runner import remove_stale_builds

    dead = tmp_path / ".2025Q4.building-4194999"
    alive = tmp_path / f".2025Q4.building-{os.getpid()}"
    half = (
        tmp_path / ".2025Q3.old"
    )  # a swap cut short: 2025Q3/ moved aside, the new one not yet in place
    for d in (dead, alive, half):
        d.mkdir()
        (d / "index.html").write_text(d.name)
    (tmp_path / "2025Q2").mkdir()
    (tmp_path / ".notes.old").mkdir()  # not the runner's: left alone
    removed = remove_stale_builds(tmp_path)
    assert (
        removed == [dead]
        and alive.exists()
        and not half.exists()
        and (tmp_path / ".notes.old").exists()
    )
    assert (tmp_path / "2025Q3" / "index.html").read_text() == ".2025Q3.old"


def test_out_that_is_a_file_is_refused(tmp_path):
    from analysis.report.runner import report_folder

    (tmp_path / "x").write_text("keep")
    with pytest.raises(ReportError, match=r"--out .*x is a file; expected a folder"):
        report_folder(tmp_path / "x")
    assert (tmp_path / "x").read_text() == "keep"
    assert report_folder(tmp_path / "new" / "reports").is_dir()
