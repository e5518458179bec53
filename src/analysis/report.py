"""The report runner: params -> papermill (parallel) -> nbconvert HTML -> summary.json -> index.html.

The report of a quarter is built in a staging folder and moved into
``<out>/<quarter>/`` only when every notebook succeeded, so a failed run never
destroys the last good report.  The executed notebooks of a failed run are kept
in ``<out>/<quarter>.failed/`` for debugging.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import html as _html
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import io as aio
from .config import NOTEBOOK_DIR, PARAMS_DIR
from .context import SUMMARY_DIR
from .periods import resolve_quarter

STANDARD_PARAMS = ("data_dir", "quarter", "lang", "output_dir")
RUNNER_PARAMS = ("data_dir", "quarter", "output_dir")  # set by the runner, not by params files


class ReportError(RuntimeError):
    """A problem running the report (bad params, a failing notebook)."""


# ------------------------------------------------------------------ notebooks
def discover_notebooks(nb_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """Report notebooks: ``NN_name.ipynb`` directly under notebooks/, in order."""
    return sorted(p.stem for p in Path(nb_dir).glob("[0-9][0-9]_*.ipynb"))


def notebook_path(name: str, nb_dir: Path = NOTEBOOK_DIR) -> Path:
    path = Path(nb_dir) / f"{name}.ipynb"
    if not path.exists():
        known = ", ".join(discover_notebooks(nb_dir))
        raise ReportError(f"no notebook '{name}'; expected one of: {known}")
    return path


def notebook_parameters(name: str, nb_dir: Path = NOTEBOOK_DIR) -> dict[str, dict]:
    """The parameters a notebook declares: {name: {type, default, help}} (papermill.inspect_notebook)."""
    import papermill

    params = papermill.inspect_notebook(str(notebook_path(name, nb_dir)))
    return {k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
            for k, v in params.items()}


# ------------------------------------------------------------------ parameters
_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,),
          "dict": (dict,)}


def _check_type(value, type_name: str) -> bool:
    allowed = _TYPES.get(type_name)
    if allowed is None or type_name == "None":
        return True
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, allowed)


def coerce(text: str, type_name: str):
    """A ``-p key=value`` string to the parameter's declared type."""
    if type_name == "str":
        return text
    value = yaml.safe_load(text)
    if type_name == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ReportError(f"-p {pair!r}: expected key=value (or notebook.key=value)")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


def resolve_params(notebooks: list[str], conf: dict | None = None, overrides: dict[str, str] | None = None,
                   *, nb_dir: Path = NOTEBOOK_DIR, source: str = "params") -> dict[str, dict]:
    """Per-notebook parameters from a params file and ``-p`` overrides, checked before anything runs.

    A top-level key applies to every notebook that declares it; a section named
    after a notebook applies to that notebook.  An unknown key or a value of the
    wrong type raises ReportError (papermill itself would only warn).
    """
    conf = dict(conf or {})
    all_names = set(discover_notebooks(nb_dir))
    # every notebook is inspected once: the unknown-key check looks beyond this run's notebooks
    declared = {nb: notebook_parameters(nb, nb_dir) for nb in sorted(all_names | set(notebooks))}
    result: dict[str, dict] = {nb: {} for nb in notebooks}
    errors = []

    def put(nb, key, value, where):
        spec = declared[nb].get(key)
        if spec is None:
            errors.append(f"{where}: '{key}' is not a parameter of {nb} "
                          f"(its parameters: {', '.join(declared[nb])})")
        elif key in RUNNER_PARAMS:
            errors.append(f"{where}: '{key}' is set by the runner; use the command-line option instead")
        elif not _check_type(value, spec["type"]):
            errors.append(f"{where}: '{key}' must be {spec['type']} (default {spec['default']}), "
                          f"got {type(value).__name__} {value!r}")
        else:
            result[nb][key] = value

    sections = {k: conf.pop(k) for k in list(conf) if k in all_names}
    for key, value in conf.items():
        users = [nb for nb in notebooks if key in declared[nb]]
        if not users and not any(key in declared[nb] for nb in all_names):
            errors.append(f"{source}: unknown key '{key}' (no notebook declares it; notebook "
                          f"sections must be named after a notebook: {', '.join(sorted(all_names))})")
        for nb in users:
            put(nb, key, value, source)
    for nb, section in sections.items():
        if nb not in result:
            continue
        if not isinstance(section, dict):
            errors.append(f"{source}: section '{nb}' must map parameter names to values")
            continue
        for key, value in section.items():
            put(nb, key, value, f"{source} [{nb}]")
    for key, text in (overrides or {}).items():
        target_nbs = notebooks
        if "." in key:
            nb, key = key.split(".", 1)
            if nb not in result:
                errors.append(f"-p {nb}.{key}: no notebook '{nb}' in this run")
                continue
            target_nbs = [nb]
        users = [nb for nb in target_nbs if key in declared[nb]]
        if not users:
            errors.append(f"-p {key}: no notebook in this run declares '{key}'")
        for nb in users:
            try:
                value = coerce(text, declared[nb][key]["type"])
            except yaml.YAMLError:
                value = text
            put(nb, key, value, f"-p {key}")
    if errors:
        raise ReportError("invalid parameters:\n  - " + "\n  - ".join(errors))
    return result


def default_params_file(quarter: str, params_dir: Path = PARAMS_DIR) -> Path | None:
    path = Path(params_dir) / f"{quarter}.yaml"
    return path if path.exists() else None


# ------------------------------------------------------------------ execution
@dataclass
class NotebookResult:
    name: str
    seconds: float
    error: str | None = None


def execute(name: str, out_dir: Path, parameters: dict, *, nb_dir: Path = NOTEBOOK_DIR) -> NotebookResult:
    """Run one notebook through papermill into ``out_dir/<name>.ipynb``; errors are returned, not raised."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    t0 = time.perf_counter()
    target = Path(out_dir) / f"{name}.ipynb"
    try:
        # the kernel listens on loopback only; its "TCP without encryption" warning is noise here
        papermill.execute_notebook(str(notebook_path(name, nb_dir)), str(target), parameters=parameters,
                                   cwd=str(nb_dir), progress_bar=False, kernel_name="python3",
                                   extra_arguments=["--IPKernelApp.log_level=ERROR"])
        return NotebookResult(name, time.perf_counter() - t0)
    except PapermillExecutionError as exc:
        last = (exc.evalue or "").strip().splitlines()
        msg = f"cell {exc.exec_count}: {exc.ename}: {last[-1] if last else ''}".strip()
        return NotebookResult(name, time.perf_counter() - t0, msg)
    except Exception as exc:  # kernel died, notebook unreadable, ...
        return NotebookResult(name, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")


def to_html(executed: Path) -> Path:
    """HTML with code hidden (inputs and prompts excluded) next to the executed notebook."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(aio.read_notebook(executed))
    return aio.write_text(body, Path(executed).with_suffix(".html"))


FONT_FILE = "assets/cjk-font.otf"
FONT_FAMILY = "CCM CJK"
# The font comes first but only for CJK code points (unicode-range), so Latin text keeps the
# reader's fonts; listed after system fonts, Chromium on Linux drew boxes for some characters.
_CJK_RANGE = "U+2E80-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF"
_FONT_CSS = f"""<style id="ccm-cjk-font">
@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{FONT_FILE}") format("opentype"); unicode-range: {_CJK_RANGE}; }}
:root {{ --jp-content-font-family: "{FONT_FAMILY}", system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
         --jp-ui-font-family: "{FONT_FAMILY}", system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
         --jp-code-font-family: "{FONT_FAMILY}", Menlo, Consolas, "DejaVu Sans Mono", monospace; }}
body, p, li, td, th, h1, h2, h3, h4, caption {{ font-family: var(--jp-content-font-family); }}
pre, code {{ font-family: var(--jp-code-font-family); }}
</style>
"""


def embed_cjk_font(stage: Path) -> Path:
    """Give every page of a report the project's CJK font, cut to the characters the pages use.

    Chinese text then renders as glyphs in any browser, whatever fonts the reader's
    machine has (charts are images and carry their glyphs already).
    """
    from .plotting import cjk_font_subset

    pages = sorted(Path(stage).glob("*.html"))
    texts = {p: aio.read_text(p) for p in pages}
    chars = sorted({ch for text in texts.values() for ch in _html.unescape(text) if ord(ch) > 0x7F})
    font = aio.write_bytes(cjk_font_subset("".join(chars)), Path(stage) / FONT_FILE)
    for page, text in texts.items():
        if 'id="ccm-cjk-font"' not in text:
            aio.write_text(text.replace("</head>", _FONT_CSS + "</head>", 1), page)
    return font


def collect_summary(stage: Path, notebooks: list[str]) -> dict:
    summary = {}
    for nb in notebooks:
        path = stage / SUMMARY_DIR / f"{nb}.json"
        if path.exists():
            summary[nb] = aio.read_json(path)
    return summary


def write_index(stage: Path, quarter: str, notebooks: list[str], summary: dict, *, data_dir: Path,
                lang: str, timings: dict[str, float]) -> Path:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                      autoescape=select_autoescape())
    page = env.get_template("index.html.j2").render(
        quarter=quarter, notebooks=notebooks, summary=summary, data_dir=str(data_dir), lang=lang,
        timings=timings, generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        headlines={nb: _headlines(summary.get(nb, {}), lang) for nb in notebooks},
        titles={nb: page_title(stage / f"{nb}.ipynb", nb) for nb in notebooks})
    return aio.write_text(page, stage / "index.html")


def page_title(executed: Path, default: str) -> str:
    """A page's title: the first heading of its notebook (e.g. '00 数据概览 · Data overview')."""
    if not Path(executed).exists():
        return default
    for cell in aio.read_notebook(executed).cells:
        if cell.cell_type == "markdown":
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            return first.lstrip("#").strip() or default
    return default


def _headlines(values: dict, lang: str, limit: int = 10) -> list[tuple[str, str]]:
    """The first scalar numbers of a notebook's summary, labelled and formatted for the index page."""
    from .labels import column_labels

    skip = {"quarter", "skipped_sections"}
    items = [(k, v) for k, v in values.items()
             if k not in skip and isinstance(v, (int, float, str, bool)) and v is not None][:limit]
    names = column_labels([k for k, _ in items], lang)
    return [(name, _fmt_headline(k, v)) for name, (k, v) in zip(names, items)]


_MONEY_WORDS = ("sales", "margin", "value", "owed", "revenue", "investment", "profit", "receivable", "limit")


def _fmt_headline(key: str, v) -> str:
    from .plotting import fmt_cny, fmt_pct

    if isinstance(v, bool):
        return "✓" if v else "✗"
    if isinstance(v, str):
        return v
    if "change" in key:
        return f"{v * 100:+.1f}%"
    if key.endswith(("_rate", "_share", "share")):
        return fmt_pct(v)
    if any(w in key for w in _MONEY_WORDS) and abs(v) >= 100:
        return fmt_cny(v)
    if isinstance(v, int) or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:,.1f}"


def _swap_into_place(stage: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    stage.rename(final)
    if old.exists():
        shutil.rmtree(old)


def run_notebooks(notebooks: list[str], params: dict[str, dict], stage: Path, *, jobs: int = 1,
                  progress: bool = True, nb_dir: Path = NOTEBOOK_DIR) -> list[NotebookResult]:
    from tqdm import tqdm

    results = []
    bar = tqdm(total=len(notebooks), desc="notebooks", unit="nb", disable=not progress)
    if jobs <= 1 or len(notebooks) == 1:
        for nb in notebooks:
            bar.set_postfix_str(nb)
            results.append(execute(nb, stage, params[nb], nb_dir=nb_dir))
            bar.update()
    else:
        ctx = mp.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = {pool.submit(execute, nb, stage, params[nb], nb_dir=nb_dir): nb for nb in notebooks}
            for fut in cf.as_completed(futures):
                res = fut.result()
                bar.set_postfix_str(res.name)
                results.append(res)
                bar.update()
    bar.close()
    return sorted(results, key=lambda r: notebooks.index(r.name))


def build_report(data_dir: str | Path, *, quarter: str = "", out: str | Path = "reports",
                 params_file: str | Path | None = None, overrides: dict[str, str] | None = None,
                 lang: str | None = None, jobs: int = 1, notebooks: list[str] | None = None,
                 nb_dir: Path = NOTEBOOK_DIR, progress: bool = True, html: bool = True,
                 merge: bool = False, params_dir: Path | None = PARAMS_DIR) -> Path:
    """Build ``<out>/<quarter>/`` from a data directory; returns that folder.

    With ``merge`` (``ccm run``), the pages of the existing report are kept and
    only the given notebooks are re-run and replaced.

    Raises DataError for bad input data and ReportError for bad parameters or a
    failing notebook, always before the previous report of the quarter is touched.
    """
    data_dir = Path(data_dir).resolve()
    ds = aio.load_dataset(data_dir)  # validate once, up front: a data error stops before any notebook
    q = str(resolve_quarter(quarter, ds.transactions["date"]))
    notebooks = notebooks or discover_notebooks(nb_dir)
    if params_file is None and params_dir is not None:
        params_file = default_params_file(q, params_dir)
    conf = aio.read_yaml(params_file) if params_file else {}
    if not isinstance(conf, dict):
        raise ReportError(f"{params_file}: expected a mapping of parameters")
    if lang:
        overrides = {**(overrides or {}), "lang": lang}
    params = resolve_params(notebooks, conf, overrides, nb_dir=nb_dir,
                            source=Path(params_file).name if params_file else "params")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    final = out / q
    stage = out / f".{q}.building-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    if merge and final.exists():
        shutil.copytree(final, stage)
    else:
        stage.mkdir()
    for nb in notebooks:
        params[nb].update(data_dir=str(data_dir), quarter=q, output_dir=str(stage))
    results = run_notebooks(notebooks, params, stage, jobs=jobs, progress=progress, nb_dir=nb_dir)
    failed = [r for r in results if r.error]
    if failed:
        kept = out / f"{q}.failed"
        if kept.exists():
            shutil.rmtree(kept)
        stage.rename(kept)
        lines = [f"{r.name} failed at {r.error}" for r in failed]
        raise ReportError("the report was not updated: " + "; ".join(lines)
                          + f". The executed notebooks are kept in {kept} for debugging"
                          + (f"; the previous report in {final} is unchanged." if final.exists() else "."))
    if html:
        for r in results:
            to_html(stage / f"{r.name}.ipynb")
    pages = [nb for nb in discover_notebooks(nb_dir) if (stage / f"{nb}.ipynb").exists()]
    summary = collect_summary(stage, pages)
    aio.write_json(summary, stage / "summary.json")
    report_lang = params[notebooks[0]].get("lang") or "zh"
    write_index(stage, q, pages, summary, data_dir=data_dir, lang=report_lang,
                timings={r.name: r.seconds for r in results})
    embed_cjk_font(stage)
    _swap_into_place(stage, final)
    stale = out / f"{q}.failed"
    if stale.exists():
        shutil.rmtree(stale)
    return final


def run_one(name: str, *, data_dir, out_dir, params: dict | None = None, quarter: str = "",
            nb_dir: Path = NOTEBOOK_DIR) -> dict:
    """Execute one notebook into ``out_dir`` (no staging) and return its recorded summary.

    Used by the tests and by ``ccm run``-like callers that want the numbers back.
    """
    out_dir = Path(out_dir).resolve()  # the kernel runs in notebooks/, so relative paths would break
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(data_dir).resolve()
    conf = dict(params or {})
    checked = resolve_params([name], {k: v for k, v in conf.items() if k not in RUNNER_PARAMS},
                             nb_dir=nb_dir, source="params")[name]
    checked.update(data_dir=str(data_dir), quarter=quarter or conf.get("quarter", ""), output_dir=str(out_dir))
    res = execute(name, out_dir, checked, nb_dir=nb_dir)
    if res.error:
        raise ReportError(f"{name} failed at {res.error}; executed notebook kept in {out_dir / (name + '.ipynb')}")
    path = out_dir / SUMMARY_DIR / f"{name}.json"
    return aio.read_json(path) if path.exists() else {}
