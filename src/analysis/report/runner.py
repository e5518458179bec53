"""The report runner: params -> papermill (parallel) -> nbconvert HTML -> summary.json -> index.html.

The report of a quarter is built in a staging folder (``<out>/.<quarter>.building-<pid>/``)
and moved into ``<out>/<quarter>/`` only when every notebook succeeded, so a failed
or interrupted run never destroys the last good report.  The executed notebooks of
a failed run are kept in ``<out>/<quarter>.failed/`` for debugging; an interrupted
run (Ctrl-C) removes its staging folder, and staging folders left by a run that
was killed are removed by the next run.

A notebook that raises :class:`~analysis.errors.InsufficientData` (valid data, but
too few for its model) does not fail the report: its page keeps the sections
computed so far and says what could not be computed and why, and summary.json
records it under ``not_computed``.

``provenance.json`` records what a report was built from (the data files'
names, sizes and SHA-256, the quarter, the language and each page's parameters);
``ccm run`` refuses to add a page built from other data to a report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import html as _html
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from analysis.config import LANGS, NOTEBOOK_DIR, PARAMS_DIR, SUMMARY_DIR
from analysis.data import files as fio
from analysis.report.kernel import trim_memory
from analysis.report.language import tags_to_remove

# The page workers import this module (spawned, they run :func:`_serve`): what only the main
# process and its loading child need (pandas, pyarrow, the io layer's tables, the engines) is
# imported where it is used, so that a worker holds papermill, nbconvert and its kernel's
# client only (issue 14: about 0.1 GB less in each worker).
if TYPE_CHECKING:
    from analysis.data.io import Dataset

# jsonschema (under nbformat, papermill and nbconvert) imports rfc3987_syntax when it is installed
# (JupyterLab's jupyter-events installs it), which builds 38 lark grammars at import: 1.2 s in each
# process of a report (runner, workers), 3.4 s while the workers start together on 2 cores.  Its
# checks are of the "iri" formats, which no notebook schema uses; jsonschema skips them without it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

STANDARD_PARAMS = ("data_dir", "quarter", "lang", "output_dir")
RUNNER_PARAMS = ("data_dir", "quarter", "output_dir")  # set by the runner, not by params files
#: notebook parameters that name a file: a relative path is read from where the command runs
#: (``-p``) or from the params file's folder, never from notebooks/ where the kernels run
PATH_PARAMS = ("customer_table", "tag_rules")
#: exceptions (by class name) that leave a page standing with a note instead of failing the report
NOT_COMPUTED_ERRORS = ("InsufficientData",)
PROVENANCE_FILE = "provenance.json"
INTERRUPTED = "interrupted; the previous report is unchanged"
INTERRUPTED_FIRST = "interrupted; no report was written"


class ReportError(RuntimeError):
    """A problem running the report (bad params, a failing notebook)."""


class ReportInterrupted(KeyboardInterrupt):
    """Ctrl-C during a build: the staging folder is gone and the previous report is unchanged.

    ``str()`` is the one line to show the user.
    """


# ------------------------------------------------------------------ notebooks
def discover_notebooks(nb_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """Report notebooks: ``NN_name.ipynb`` directly under notebooks/, in order.

    Parameters
    ----------
    nb_dir : Path
        The notebooks folder.

    Returns
    -------
    list of str
        Notebook names.
    """
    return sorted(p.stem for p in Path(nb_dir).glob("[0-9][0-9]_*.ipynb"))


def notebook_path(name: str, nb_dir: Path = NOTEBOOK_DIR) -> Path:
    """The file of notebook ``name``; ReportError when there is none.

    Parameters
    ----------
    name : str
        Notebook name.
    nb_dir : Path
        The notebooks folder.

    Returns
    -------
    Path
    """
    path = Path(nb_dir) / f"{name}.ipynb"
    if not path.exists():
        known = ", ".join(discover_notebooks(nb_dir))
        raise ReportError(f"no notebook '{name}'; expected one of: {known}")
    return path


def notebook_parameters(name: str, nb_dir: Path = NOTEBOOK_DIR) -> dict[str, dict]:
    """The parameters a notebook declares: {name: {type, default, help}} (papermill.inspect_notebook).

    Parameters
    ----------
    name : str
        Notebook name.
    nb_dir : Path
        The notebooks folder.

    Returns
    -------
    dict of str to dict
    """
    import papermill

    params = papermill.inspect_notebook(str(notebook_path(name, nb_dir)))
    return {
        k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
        for k, v in params.items()
    }


# ------------------------------------------------------------------ parameters
_TYPES = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def _check_type(value, type_name: str) -> bool:
    allowed = _TYPES.get(type_name)
    if allowed is None or type_name == "None":
        return True
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, allowed)


def coerce(text: str, type_name: str):
    """A ``-p key=value`` string to the parameter's declared type.

    Parameters
    ----------
    text : str
        The value as given.
    type_name : str
        The declared type (``int``, ``float``, ``bool``, ``str``).

    Returns
    -------
    object
        The typed value.
    """
    if type_name == "str":
        return text
    value = yaml.safe_load(text)
    if type_name == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``-p key=value`` pairs as a dict; ReportError for a pair without ``=``.

    Parameters
    ----------
    pairs : list of str
        The pairs.

    Returns
    -------
    dict of str to str
    """
    out = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ReportError(f"-p {pair!r}: expected key=value (or notebook.key=value)")
        k, v = pair.split("=", 1)
        out[k.strip()] = v
    return out


def resolve_params(
    notebooks: list[str],
    conf: dict | None = None,
    overrides: dict[str, str] | None = None,
    *,
    nb_dir: Path = NOTEBOOK_DIR,
    source: str = "params",
    params_dir: str | Path | None = None,
) -> dict[str, dict]:
    """Per-notebook parameters from a params file and ``-p`` overrides, checked before anything runs.

    A top-level key applies to every notebook that declares it; a section named
    after a notebook applies to that notebook.  An unknown key or a value of the
    wrong type raises ReportError (papermill itself would only warn).

    A file parameter (:data:`PATH_PARAMS`) given as a relative path is made
    absolute: from the current folder for ``-p``, from ``params_dir`` (the
    params file's folder; default the current folder) for the params file.  A
    file that does not exist is an error here, before any notebook runs.

    Parameters
    ----------
    notebooks : list of str
        The notebooks run.
    conf : dict, optional
        The params file as read.
    overrides : dict, optional
        ``-p`` values.
    nb_dir : Path
        The notebooks folder.
    source : str
        The params file's name, for messages.
    params_dir : str or Path, optional
        The params file's folder.

    Returns
    -------
    dict of str to dict
        Notebook -> parameters.
    """
    conf = dict(conf or {})
    all_names = set(discover_notebooks(nb_dir))
    # every notebook is inspected once: the unknown-key check looks beyond this run's notebooks
    declared = {nb: notebook_parameters(nb, nb_dir) for nb in sorted(all_names | set(notebooks))}
    result: dict[str, dict] = {nb: {} for nb in notebooks}
    errors = []

    def put(nb, key, value, where, base=None):
        spec = declared[nb].get(key)
        if spec is None:
            errors.append(
                f"{where}: '{key}' is not a parameter of {nb} "
                f"(its parameters: {', '.join(declared[nb])})"
            )
        elif key in RUNNER_PARAMS:
            errors.append(
                f"{where}: '{key}' is set by the runner; use the command-line option instead"
            )
        elif not _check_type(value, spec["type"]):
            errors.append(
                f"{where}: '{key}' must be {spec['type']} (default {spec['default']}), "
                f"got {type(value).__name__} {value!r}"
            )
        elif key in PATH_PARAMS and isinstance(value, str) and value.strip():
            path = _absolute(value.strip(), base)
            if path.is_file():
                result[nb][key] = str(path)
            else:
                origin = (
                    "the folder the command runs in"
                    if base is None
                    else f"the params file's folder {params_dir}"
                )
                errors.append(
                    f"{where}: '{key}' names {path}, but there is no such file "
                    f"(a relative path is read from {origin})"
                )
        else:
            result[nb][key] = value

    sections = {k: conf.pop(k) for k in list(conf) if k in all_names}
    for key, value in conf.items():
        users = [nb for nb in notebooks if key in declared[nb]]
        if not users and not any(key in declared[nb] for nb in all_names):
            errors.append(
                f"{source}: unknown key '{key}' (no notebook declares it; notebook "
                f"sections must be named after a notebook: {', '.join(sorted(all_names))})"
            )
        for nb in users:
            put(nb, key, value, source, params_dir)
    for nb, section in sections.items():
        if nb not in result:
            continue
        if not isinstance(section, dict):
            errors.append(f"{source}: section '{nb}' must map parameter names to values")
            continue
        for key, value in section.items():
            put(nb, key, value, f"{source} [{nb}]", params_dir)
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


def _absolute(text: str, base: str | Path | None) -> Path:
    """``text`` as an absolute path: ``~`` expanded, a relative path joined to ``base`` (default: cwd)."""
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(base or Path.cwd()) / path
    return Path(os.path.abspath(path))


def default_params_file(quarter: str, params_dir: Path = PARAMS_DIR) -> Path | None:
    """``params/<quarter>.yaml`` when it exists.

    Parameters
    ----------
    quarter : str
        The quarter.
    params_dir : Path
        The params folder.

    Returns
    -------
    Path or None
    """
    path = Path(params_dir) / f"{quarter}.yaml"
    return path if path.exists() else None


# ------------------------------------------------------------------ execution
@dataclass
class NotebookResult:
    """The outcome of one executed notebook: seconds taken, the error, or why its model was not computed."""

    name: str
    seconds: float
    error: str | None = None
    #: the page stands but its model could not be computed (InsufficientData): the reason
    not_computed: str | None = None


KERNEL_START_TIMEOUT = 300  # seconds
#: the kernel's command-line arguments: the kernel listens on loopback only, and its "TCP without
#: encryption" warning is noise here
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=ERROR",)


#: papermill engine of pages run in a kernel kept by the worker (:func:`kept_kernel`)
KEPT_KERNEL_ENGINE = "ccm-kept-kernel"
#: run silently in a kept kernel before each page (:func:`analysis.report.kernel.prepare`);
#: one expression, so ``%reset`` leaves no name of its own behind
_PREPARE_PAGE = '__import__("analysis.report.kernel", fromlist=["prepare"]).prepare(get_ipython())'


def _register_kept_kernel_engine() -> None:
    """Register :data:`KEPT_KERNEL_ENGINE`: papermill's nbclient engine, given the worker's kernel
    manager (``km``), preparing the kernel before the page and closing its client after it."""
    import logging

    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class KeptKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kwargs = {
                k: v
                for k, v in kwargs.items()
                if k not in ("input_path", "timeout", "startup_timeout")
            }
            client = PapermillNotebookClient(
                nb_man,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            )

            async def prepare(notebook):  # nbclient's hook once the page's client is ready
                msg_id = client.kc.execute(_PREPARE_PAGE, silent=True, store_history=False)
                reply = await client.async_wait_for_reply(msg_id)
                content = (reply or {}).get("content", {})
                if content.get("status") != "ok":
                    raise RuntimeError(f"the kept kernel could not be prepared: {content}")

            client.on_notebook_start = prepare
            try:
                return client.execute()
            finally:  # the kernel stays for the next page; this page's client goes
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register(KEPT_KERNEL_ENGINE, KeptKernelEngine)


#: the kernel manager of this worker process's kept kernel (None before its first page)
_KEPT: list = []


def kept_kernel():
    """This worker's kernel manager: the same kernel page after page, a new one if it died.

    Returns
    -------
    jupyter_client.AsyncKernelManager
        Not yet started before the first page (papermill starts it with the page's settings).
    """
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.util import run_sync

    if _KEPT and _KEPT[0].has_kernel and not run_sync(_KEPT[0].is_alive)():
        stop_kept_kernel()  # died with the page before (out of memory, killed)
    if not _KEPT:
        _register_kept_kernel_engine()
        _KEPT.append(AsyncKernelManager(kernel_name="python3"))
    return _KEPT[0]


#: a kept kernel using more memory than this once a page is cleared from it (:func:`forget_page`)
#: is replaced by a new one for the next page (MB; environment ``CCM_KERNEL_KEEP_MB``).  A
#: cleared kernel holds its imports and what its allocator did not give back: about 0.4 GB at ten
#: million lines since the pages map the run's tables (:mod:`analysis.data.validated`) instead of
#: keeping them (0.8-1.1 GB before).  A new kernel costs a few CPU seconds to start and import.
KERNEL_KEEP_MB = 1536
KERNEL_KEEP_ENV = "CCM_KERNEL_KEEP_MB"


#: run in a worker's kernel while the runner still reads the data: the modules every page imports
WARM_UP = (
    "import matplotlib.pyplot, pandas, IPython.display, analysis.report.context, "
    "analysis.report.kernel"
)


def warm_kept_kernel(nb_dir: Path = NOTEBOOK_DIR) -> bool:
    """Start this worker's kept kernel now, as papermill would for a page, and import the
    modules every page imports (:data:`WARM_UP`), so that the first page does not wait for them.

    The kernel's namespace is reset before each page (:func:`analysis.report.kernel.prepare`),
    so a warmed kernel runs its first page as a fresh one.

    Parameters
    ----------
    nb_dir : Path
        The notebooks folder (the kernel's working folder, as for a page).

    Returns
    -------
    bool
        True when the kernel started and imported them; False on any failure (the first
        page then starts its own kernel, as without the warm-up).
    """
    from nbclient.util import run_sync

    km = kept_kernel()
    if not km.has_kernel:
        try:
            run_sync(km.start_kernel)(
                extra_arguments=[*KERNEL_ARGUMENTS, "--HistoryManager.hist_file=:memory:"],
                cwd=str(nb_dir),
            )
        except Exception:  # the first page starts a kernel of its own
            stop_kept_kernel()
            return False
    # while the kernel starts: what this worker needs to run a page and export it
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    return _run_in_kept_kernel(WARM_UP)


def _run_in_kept_kernel(code: str) -> bool:
    """Run ``code`` silently in this worker's kept kernel; True when it ran without an error.
    A kernel that fails it (or cannot be reached) is stopped: the next page gets a new one."""
    from nbclient.util import run_sync

    km = _KEPT[0]
    try:
        kc = km.client()
        kc.start_channels()
        try:
            run_sync(kc.wait_for_ready)(timeout=KERNEL_START_TIMEOUT)
            msg_id = kc.execute(code, silent=True, store_history=False)
            reply = run_sync(kc.get_shell_msg)(timeout=KERNEL_START_TIMEOUT)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = run_sync(kc.get_shell_msg)(timeout=KERNEL_START_TIMEOUT)
            ok = reply["content"].get("status") == "ok"
        finally:
            kc.stop_channels()
    except Exception:
        ok = False
    if not ok:
        stop_kept_kernel()
    return ok


def forget_page() -> bool:
    """Right after a page: clear the kept kernel of it (:func:`analysis.report.kernel.prepare`:
    its variables, figures and settings, then the allocators' free memory back to the system),
    so that its memory is measured without the page (:func:`release_large_kernel`) and the
    kernel waits for the next page holding only what pages share (the run's tables).

    Returns
    -------
    bool
        False when there is no kernel or it could not be cleared (it is then stopped).
    """
    if not _KEPT or not _KEPT[0].has_kernel:
        return False
    return _run_in_kept_kernel(_PREPARE_PAGE)


def kept_kernel_rss_mb() -> float | None:
    """The resident memory of this worker's kept kernel.

    Returns
    -------
    float or None
        MB, or None when the worker has no running kernel.
    """
    import psutil

    if not _KEPT or not _KEPT[0].has_kernel:
        return None
    pid = getattr(getattr(_KEPT[0], "provisioner", None), "pid", None)
    try:
        return psutil.Process(pid).memory_info().rss / 2**20 if pid else None
    except psutil.Error:
        return None


def release_large_kernel(environ=None) -> bool:
    """Stop the kept kernel when it uses more than :data:`KERNEL_KEEP_MB` (see there).

    Parameters
    ----------
    environ : mapping, optional
        Where ``CCM_KERNEL_KEEP_MB`` is read (default ``os.environ``).

    Returns
    -------
    bool
        Whether the kernel was stopped.
    """
    environ = os.environ if environ is None else environ
    try:
        limit = float(environ.get(KERNEL_KEEP_ENV) or KERNEL_KEEP_MB)
    except ValueError:
        limit = KERNEL_KEEP_MB
    rss = kept_kernel_rss_mb()
    if rss is None or rss <= limit:
        return False
    stop_kept_kernel()
    return True


def stop_kept_kernel() -> None:
    """Shut this worker's kept kernel down (at the end of the run)."""
    from nbclient.util import run_sync

    while _KEPT:
        km = _KEPT.pop()
        with contextlib.suppress(Exception):
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=True)
            run_sync(km.cleanup_resources)()


def execute(
    name: str,
    out_dir: Path,
    parameters: dict,
    *,
    nb_dir: Path = NOTEBOOK_DIR,
    keep_kernel: bool = False,
) -> NotebookResult:
    """Run one notebook through papermill into ``out_dir/<name>.ipynb``; errors are returned, not raised.

    Parameters
    ----------
    name : str
        Notebook name.
    out_dir : Path
        Where the executed notebook goes.
    parameters : dict
        Injected parameters.
    nb_dir : Path
        The notebooks folder.
    keep_kernel : bool
        Run the page in this process's kept kernel (:func:`kept_kernel`), prepared as a fresh
        one, instead of a new kernel.

    Returns
    -------
    NotebookResult
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    t0 = time.perf_counter()
    target = Path(out_dir) / f"{name}.ipynb"
    kept = {"engine_name": KEPT_KERNEL_ENGINE, "km": kept_kernel()} if keep_kernel else {}
    try:
        papermill.execute_notebook(
            str(notebook_path(name, nb_dir)),
            str(target),
            parameters=parameters,
            cwd=str(nb_dir),
            progress_bar=False,
            kernel_name="python3",
            extra_arguments=list(KERNEL_ARGUMENTS),
            # a busy 2-core machine (tests and report pages in parallel) can take over a
            # minute to start a kernel; papermill's default of 60 s then fails the page
            start_timeout=KERNEL_START_TIMEOUT,
            **kept,
        )
        return NotebookResult(name, time.perf_counter() - t0)
    except PapermillExecutionError as exc:
        last = (exc.evalue or "").strip().splitlines()
        if exc.ename in NOT_COMPUTED_ERRORS:
            return NotebookResult(
                name, time.perf_counter() - t0, not_computed=" ".join(last).strip()
            )
        msg = f"cell {exc.exec_count}: {exc.ename}: {last[-1] if last else ''}".strip()
        return NotebookResult(name, time.perf_counter() - t0, msg)
    except Exception as exc:  # kernel died, notebook unreadable, ...
        return NotebookResult(name, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")


def notebook_language(nb, default: str = "zh") -> str:
    """The report language an executed notebook was run in.

    Read from ``metadata.ccm.lang`` (written by the runner, :func:`set_language`), else
    from the ``lang`` parameter papermill recorded, else ``default``.

    Parameters
    ----------
    nb : NotebookNode
        An executed notebook.
    default : str
        Fallback language.

    Returns
    -------
    str
    """
    meta = nb.get("metadata", {})
    lang = (meta.get("ccm") or {}).get("lang") or (
        (meta.get("papermill") or {}).get("parameters") or {}
    ).get("lang")
    return lang if lang in LANGS else default


def set_language(executed: Path, lang: str) -> Path:
    """Record the report language in an executed notebook (``metadata.ccm.lang``).

    :func:`to_html` reads it back, so the notebook can be exported again later in
    its own language.

    Parameters
    ----------
    executed : Path
        An executed notebook.
    lang : str
        The report language.

    Returns
    -------
    Path
        The notebook.
    """
    nb = fio.read_json(executed)
    nb.setdefault("metadata", {}).setdefault("ccm", {})["lang"] = lang
    return fio.write_text(json.dumps(nb, ensure_ascii=False, indent=1) + "\n", executed)


#: nbconvert's lab template without the scripts it loads from a CDN: the pages open offline
OFFLINE_TEMPLATE = Path(__file__).with_name("templates") / "offline.html.j2"


def to_html(executed: Path, lang: str | None = None) -> Path:
    """HTML with code hidden (inputs and prompts excluded) next to the executed notebook.

    Only the narrative of the report language is kept: the markdown cells tagged
    for the other language (``lang-en`` / ``lang-zh``) are removed with nbconvert's
    TagRemovePreprocessor.  ``lang`` defaults to the language recorded in the
    notebook (:func:`notebook_language`).

    Parameters
    ----------
    executed : Path
        An executed notebook.
    lang : str, optional
        The report language.

    Returns
    -------
    Path
        The HTML page.
    """
    nb = fio.read_notebook(executed)
    body, _ = _html_exporter(lang or notebook_language(nb)).from_notebook_node(nb)
    return fio.write_text(body, Path(executed).with_suffix(".html"))


@functools.lru_cache(maxsize=len(LANGS))
def _html_exporter(lang: str):
    """The HTML exporter of a report language, made once per process (its templates are
    compiled on first use: a worker exports page after page)."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = tags_to_remove(lang)
    return HTMLExporter(
        config=config,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        template_file=str(OFFLINE_TEMPLATE),  # the lab template without CDN scripts
    )


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

    Parameters
    ----------
    stage : Path
        The staging folder.

    Returns
    -------
    Path
        The font subset written.
    """
    pages = sorted(Path(stage).glob("*.html"))
    texts = {p: fio.read_text(p) for p in pages}
    seen = set().union(*(set(_html.unescape(text)) for text in texts.values()))
    chars = "".join(sorted(ch for ch in seen if ord(ch) > 0x7F))
    font = fio.write_bytes(cached_font_subset(chars), Path(stage) / FONT_FILE)
    for page, text in texts.items():
        if 'id="ccm-cjk-font"' not in text:
            fio.write_text(text.replace("</head>", _FONT_CSS + "</head>", 1), page)
    return font


#: environment variable naming the folder of font subsets kept between runs (default: the
#: user's cache folder, ``$XDG_CACHE_HOME/ccm-analysis`` or ``~/.cache/ccm-analysis``)
CACHE_ENV = "CCM_CACHE_DIR"


def cache_dir() -> Path:
    """The folder of what runs keep for later runs (font subsets).

    Returns
    -------
    Path
        :data:`CACHE_ENV` when set, else the user's cache folder.
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ccm-analysis"


def cached_font_subset(chars: str) -> bytes:
    """The CJK font cut down to ``chars``, kept in :func:`cache_dir` for the next run.

    A subset takes 3 s to cut, and a company's pages use the same characters quarter after
    quarter.  The key is the characters, the font file and the fontTools version; a cache
    folder that cannot be written is not used.

    Parameters
    ----------
    chars : str
        The characters the pages use.

    Returns
    -------
    bytes
        The font subset (OpenType).
    """
    import fontTools

    from analysis.viz.fonts import cjk_font_path

    font = cjk_font_path()
    stat = font.stat()
    key = hashlib.sha256(
        f"{font.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{fontTools.version}|{chars}".encode()
    ).hexdigest()[:32]
    path = cache_dir() / "fonts" / f"cjk-{key}.otf"
    with contextlib.suppress(OSError):
        return path.read_bytes()
    from analysis.viz.style import cjk_font_subset  # seaborn and scipy: 2 s, on a miss only

    data = cjk_font_subset(chars)
    with contextlib.suppress(OSError):
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fio.write_bytes(data, tmp)
        os.replace(tmp, path)  # whole or absent for a run reading it at the same time
    return data


def collect_summary(stage: Path, notebooks: list[str]) -> dict:
    """The summary records of the pages (``summary/<notebook>.json``) as one dict.

    Parameters
    ----------
    stage : Path
        The staging folder.
    notebooks : list of str
        The pages.

    Returns
    -------
    dict
        Notebook -> record.
    """
    summary = {}
    for nb in notebooks:
        path = stage / SUMMARY_DIR / f"{nb}.json"
        if path.exists():
            summary[nb] = fio.read_json(path)
    return summary


def write_index(
    stage: Path,
    quarter: str,
    notebooks: list[str],
    summary: dict,
    *,
    data_dir: Path,
    lang: str,
    timings: dict[str, float],
) -> Path:
    """The front page: the quarter's highlights, then a card per page with its labelled numbers.

    Everything on it is in ``lang``: the numbers' labels and formats come from
    ``viz/labels/summary.yaml`` (:mod:`analysis.report.headlines`), the highlights from
    :mod:`analysis.report.highlights`, the skip notes from :func:`analysis.report.context.skip_note`.

    Parameters
    ----------
    stage : Path
        The staging folder.
    quarter : str
        The quarter.
    notebooks : list of str
        The pages.
    summary : dict
        From :func:`collect_summary`.
    data_dir : Path
        The data folder.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    timings : dict of str to float
        Seconds per page.

    Returns
    -------
    Path
        The index page.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from analysis.report.context import skip_note
    from analysis.viz.labels import label

    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(),
    )
    titles = {nb: page_title(stage / f"{nb}.ipynb", nb, lang) for nb in notebooks}
    page = env.get_template("index.html.j2").render(
        quarter=quarter,
        notebooks=notebooks,
        data_dir=str(data_dir),
        lang=lang,
        t=lambda key, **kw: label(key, lang, **kw),
        timings=timings,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        highlights=index_highlights(stage, summary, notebooks, titles, lang),
        headlines={nb: _headlines(nb, summary.get(nb, {}), lang) for nb in notebooks},
        not_computed={
            nb: not_computed_text(summary[nb]["not_computed"], lang)
            for nb in notebooks
            if (summary.get(nb) or {}).get("not_computed")
        },
        skipped={
            nb: [skip_note(e, lang) for e in (summary.get(nb) or {}).get("skipped_sections", [])]
            for nb in notebooks
        },
        titles=titles,
    )
    return fio.write_text(page, stage / "index.html")


def index_highlights(
    stage: Path, summary: dict, notebooks: list[str], titles: dict[str, str], lang: str
) -> list[dict]:
    """The highlights of the index (:func:`analysis.report.highlights.highlights`) as
    ``{"text", "href", "where"}``: each links to its section (``#cell-id=<id>`` of the heading
    cell in the report language, when the page has it) and names the page and section.

    Parameters
    ----------
    stage : Path
        The staging folder.
    summary : dict
        From :func:`collect_summary`.
    notebooks : list of str
        The pages.
    titles : dict of str to str
        Page titles.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    list of dict
    """
    from analysis.report.highlights import highlights, sentence

    out = []
    for f in highlights({nb: summary[nb] for nb in notebooks if nb in summary}):
        cell = f.section if lang == "en" else f"{f.section}-{lang}"
        heading = section_title(stage / f"{f.page}.ipynb", cell)
        href = f"{f.page}.html" + (f"#cell-id={cell}" if heading else "")
        where = " · ".join(x for x in (titles.get(f.page, f.page), heading) if x)
        out.append({"text": sentence(f, lang), "href": href, "where": where})
    return out


def section_title(executed: Path, cell_id: str) -> str | None:
    """The heading text of the markdown cell ``cell_id`` of an executed notebook (None when absent).

    Parameters
    ----------
    executed : Path
        An executed notebook.
    cell_id : str
        The heading cell's id.

    Returns
    -------
    str or None
    """
    if not Path(executed).exists():
        return None
    for cell in fio.read_notebook(executed).cells:
        if cell.get("id") == cell_id and cell.cell_type == "markdown":
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            return first.lstrip("#").strip() or None
    return None


def page_title(executed: Path, default: str, lang: str | None = None) -> str:
    """A page's title: the first heading of its notebook in the report language (e.g. '00 数据概览').

    The first markdown cell that is not tagged for another language; ``lang``
    defaults to the language recorded in the notebook.

    Parameters
    ----------
    executed : Path
        An executed notebook.
    default : str
        Title when none is found.
    lang : str, optional
        The report language.

    Returns
    -------
    str
    """
    if not Path(executed).exists():
        return default
    nb = fio.read_notebook(executed)
    other = tags_to_remove(lang or notebook_language(nb))
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not other & set(
            cell.get("metadata", {}).get("tags", [])
        ):
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            return first.lstrip("#").strip() or default
    return default


def _headlines(page: str, values: dict, lang: str) -> list[tuple[str, str]]:
    """A page's numbers on the index: ``(label, formatted value)`` (:func:`analysis.report.headlines.headlines`)."""
    from analysis.report.headlines import headlines

    return headlines(page, values, lang)


# ------------------------------------------------------------------ finishing pages
_NOT_COMPUTED = {
    "zh": ("本页其余部分无法计算", "以上各节完整；其余部分需要更多数据。"),
    "en": (
        "The rest of this page could not be computed",
        "The sections above are complete; the rest needs more data.",
    ),
}


def not_computed_text(reason: str, lang: str) -> str:
    """The note shown on a page (and the index) whose model could not be computed.

    Parameters
    ----------
    reason : str
        Why the model could not be computed.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    head, tail = _NOT_COMPUTED.get(lang, _NOT_COMPUTED["en"])
    sep = "：" if lang == "zh" else ": "
    return f"{head}{sep}{reason.rstrip('.。')}{'。' if lang == 'zh' else '. '}{tail}"


def mark_not_computed(executed: Path, reason: str, lang: str) -> Path:
    """Turn a notebook stopped by InsufficientData into a page that says so.

    The cells that ran stay as they are; the exception (and papermill's red
    banner) give way to a note naming the reason; the cells that never ran are
    dropped, so no section heading stands over an empty section.

    Parameters
    ----------
    executed : Path
        An executed notebook.
    reason : str
        Why the model could not be computed.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    Path
        The notebook.
    """
    import nbformat

    nb = fio.read_notebook(executed)
    cells = []
    for cell in nb.cells:
        if "papermill-error-cell-tag" in cell.get("metadata", {}).get("tags", []):
            continue
        cells.append(cell)
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        if any(o.get("output_type") == "error" for o in outputs):
            text = not_computed_text(reason, lang)
            note = nbformat.v4.new_output(
                "display_data",
                data={
                    "text/plain": text,
                    "text/html": f'<div class="ccm-not-computed" style="border-left:4px solid #a05a00;'
                    f'padding:.4rem .8rem;color:#a05a00"><strong>{_html.escape(text)}</strong></div>',
                },
            )
            cell.outputs = [o for o in outputs if o.get("output_type") != "error"] + [note]
            break
    nb.cells = cells
    return fio.write_text(nbformat.writes(nb), executed)


def _replace_text(obj, old: str, new: str):
    if isinstance(obj, str):
        return obj.replace(old, new)
    if isinstance(obj, list):
        return [_replace_text(v, old, new) for v in obj]
    if isinstance(obj, dict):
        return {k: _replace_text(v, old, new) for k, v in obj.items()}
    return obj


def scrub_staging_path(executed: Path, stage: Path, final: Path) -> Path:
    """Name the report folder, not the staging folder, in an executed notebook (parameters, metadata).

    Parameters
    ----------
    executed : Path
        An executed notebook.
    stage : Path
        The staging folder.
    final : Path
        The report folder.

    Returns
    -------
    Path
        The notebook.
    """
    nb = fio.read_json(executed)
    if str(stage) not in json.dumps(nb, ensure_ascii=False):
        return executed
    fixed = _replace_text(nb, str(stage), str(final))
    return fio.write_text(json.dumps(fixed, ensure_ascii=False, indent=1) + "\n", executed)


# ------------------------------------------------------------------ what a report was built from
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_fingerprint(ds: Dataset) -> dict:
    """The data a report reads: every table file (and columns.yaml) by name, size and SHA-256.

    Parameters
    ----------
    ds : Dataset
        The loaded data.

    Returns
    -------
    dict
        ``folder`` and ``files``.
    """
    from analysis.data import io as aio

    files = [
        (table, part)
        for table, path in sorted(ds.sources.items())
        for part in aio.table_parts(path)
    ]
    mapping = Path(ds.data_dir) / aio.MAPPING_FILE
    if mapping.exists():
        files.append((aio.MAPPING_FILE, mapping))
    return {
        "folder": str(Path(ds.data_dir).resolve()),
        "files": [
            {
                "table": table,
                "name": path.name,
                "size": path.stat().st_size,
                "sha256": _sha256(path),
            }
            for table, path in files
        ],
    }


def _data_differences(old: list[dict], new: list[dict]) -> list[str]:
    old_by, new_by = {f["table"]: f for f in old}, {f["table"]: f for f in new}
    out = []
    for table in sorted(old_by.keys() | new_by.keys()):
        a, b = old_by.get(table), new_by.get(table)
        if b is None:
            out.append(f"{a['name']} is not in this run's data")
        elif a is None:
            out.append(f"{b['name']} was not in the report's data")
        elif (a["name"], a["size"], a["sha256"]) != (b["name"], b["size"], b["sha256"]):
            out.append(f"{b['name']} differs")
    return out


def check_same_report(final: Path, fingerprint: dict, lang: str) -> dict:
    """Refuse (ReportError) to add pages to ``final`` unless it was built from the same data and language.

    Parameters
    ----------
    final : Path
        The report folder.
    fingerprint : dict
        From :func:`data_fingerprint`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    dict
        The report's provenance record.
    """
    path = Path(final) / PROVENANCE_FILE
    fix = "rebuild the whole quarter with `ccm report`, or choose another --out"
    try:
        prov = fio.read_json(path)
        old_files, old_lang = prov["data"]["files"], prov["lang"]
    except FileNotFoundError:
        raise ReportError(
            f"{final} has no {PROVENANCE_FILE}, so the data it was built from are unknown (a "
            f"report of an older version?); `ccm run` adds a page only to a report of the same "
            f"data: {fix}."
        ) from None
    except (ValueError, KeyError, TypeError):
        raise ReportError(
            f"{path} is damaged, so the data the report was built from are unknown: {fix}."
        ) from None
    diffs = _data_differences(old_files, fingerprint["files"])
    if diffs:
        raise ReportError(
            f"{final} holds a report of other data ({'; '.join(diffs)}; the report was built "
            f"from {prov['data'].get('folder')}, this run reads {fingerprint['folder']}). `ccm run` "
            f"adds a page only to a report of the same data, so that pages of two data sets are "
            f"never mixed: {fix}."
        )
    if old_lang != lang:
        raise ReportError(
            f"{final} is a report in '{old_lang}' and this run would add a page in '{lang}': "
            f"run with --lang {old_lang}, or rebuild the whole quarter with `ccm report --lang {lang}`."
        )
    return prov


def _provenance(
    previous: dict | None,
    *,
    quarter: str,
    lang: str,
    fingerprint: dict,
    params: dict[str, dict],
    pages: list[str],
) -> dict:
    now = dt.datetime.now().isoformat(timespec="seconds")
    kept = dict((previous or {}).get("pages", {}))
    for nb, values in params.items():
        kept[nb] = {
            "parameters": {k: v for k, v in values.items() if k not in RUNNER_PARAMS},
            "built": now,
        }
    return {
        "quarter": quarter,
        "lang": lang,
        "data": fingerprint,
        "generated": now,
        "pages": {nb: kept[nb] for nb in pages if nb in kept},
    }


# ------------------------------------------------------------------ the report folder
_BUILDING = re.compile(r"^\.(?P<quarter>\d{4}Q[1-4])\.building-(?P<pid>\d+)$")
_OLD = re.compile(r"^\.(?P<quarter>\d{4}Q[1-4])\.old$")
_VALIDATING = re.compile(r"^\.validated-(?P<pid>\d+)$")


def report_folder(out: str | Path) -> Path:
    """``--out`` as an absolute folder (created when missing); ReportError when it is a file.

    Parameters
    ----------
    out : str or Path
        ``--out``.

    Returns
    -------
    Path
    """
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ReportError(
            f"--out {out} is a file; expected a folder for the reports (the report goes to "
            f"<out>/<quarter>/)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"--out {out}: cannot create the reports folder ({exc.strerror})"
        ) from None
    return out


def remove_stale_builds(out: Path) -> list[Path]:
    """Remove what killed runs left in ``out``: staging folders whose process is gone.

    A ``.<quarter>.old`` folder (a swap cut short between its two renames) is the
    previous report: it is put back when ``<quarter>/`` is missing, else removed.

    Parameters
    ----------
    out : Path
        The reports folder.

    Returns
    -------
    list of Path
        What was removed.
    """
    import psutil

    removed = []
    for path in sorted(Path(out).iterdir()):
        m = _BUILDING.match(path.name) or _VALIDATING.match(path.name)
        if m and path.is_dir() and not psutil.pid_exists(int(m["pid"])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        elif _OLD.match(path.name) and path.is_dir():
            final = path.with_name(_OLD.match(path.name)["quarter"])
            if final.exists():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            else:
                path.rename(final)
    return removed


@contextlib.contextmanager
def _ignoring_interrupts():
    """Ctrl-C is ignored inside (main thread only): a report folder is never left half-swapped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _swap_into_place(stage: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    with _ignoring_interrupts():
        if old.exists():
            shutil.rmtree(old)
        if final.exists():
            final.rename(old)
        stage.rename(final)
        if old.exists():
            shutil.rmtree(old)


# ------------------------------------------------------------------ running
def _descendants() -> dict:
    import psutil

    try:
        return {p.pid: p for p in psutil.Process().children(recursive=True)}
    except psutil.Error:  # pragma: no cover
        return {}


def _stop_new_processes(before: dict) -> None:
    """Stop the workers and kernels this run started (not the multiprocessing resource tracker).

    Kernels are killed outright (asked to stop, they print a traceback from the
    cell they were running) and their connection files removed; workers are asked
    to stop, then killed if still there after five seconds.
    """
    import psutil

    kernels, workers, files = [], [], []
    for pid, proc in _descendants().items():
        if pid in before:
            continue
        try:
            cmd = proc.cmdline()
        except psutil.Error:
            continue
        if any("resource_tracker" in part for part in cmd):
            continue
        if any("ipykernel" in part for part in cmd):
            kernels.append(proc)
            files += [cmd[i + 1] for i, part in enumerate(cmd[:-1]) if part == "-f"]
        else:
            workers.append(proc)
    for proc in kernels:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    for proc in workers:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(kernels + workers, timeout=5)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    for name in files:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _serve(conn, warm: dict | None = None) -> None:
    """A worker process: run the notebooks sent over ``conn``, one at a time, until None arrives.

    With ``warm`` (``{"env": ..., "nb_dir": ...}``) the worker first starts its kept kernel with
    that environment and warms it (:func:`warm_kept_kernel`), while the runner reads the data.

    Workers ignore Ctrl-C: the main process takes it and stops them (no
    traceback from each worker, no kernel left writing into the staging folder).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # papermill imports pyarrow.fs (for hdfs:// notebooks) whenever pyarrow is installed: 40 MB
    # in a process that runs local notebooks and never reads data (issue 14)
    sys.modules.setdefault("pyarrow.fs", None)
    if warm is not None:
        os.environ.update(warm["env"])
        warm_kept_kernel(Path(warm["nb_dir"]))
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the main process is gone
            return
        if task is None:
            stop_kept_kernel()
            return
        name, stage, parameters, nb_dir, env, finish = task
        os.environ.update(env)  # read by the page's kernel (validated data)
        result = execute(name, Path(stage), parameters, nb_dir=Path(nb_dir), keep_kernel=True)
        forget_page()
        release_large_kernel()
        if finish is not None:
            try:
                finish_page(result, Path(stage), **finish)
            except Exception as exc:  # the page ran but its file could not be finished
                result.error = f"{type(exc).__name__}: {exc}"
        trim_memory()  # the page's notebook and HTML: the next page may be small
        conn.send(result)


def _start_worker(ctx, warm: dict | None = None):
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, warm), daemon=True, name="ccm-notebook-worker")
    with _ignoring_interrupts():  # inherited: a worker still importing ignores Ctrl-C as well
        proc.start()
    child.close()
    return proc, parent


def finish_page(
    result: NotebookResult, stage: Path, *, final: str, lang: str, html: bool, quarter: str
) -> None:
    """After a page ran (in its worker, while other pages run): its note when its model could
    not be computed, the report folder's name instead of the staging folder's, the report
    language, and its HTML page.  A failed page is left as it is (the report is not updated).

    Parameters
    ----------
    result : NotebookResult
        The page's outcome.
    stage : Path
        The staging folder.
    final : str
        The report folder.
    lang : str
        The report language.
    html : bool
        Export the HTML page.
    quarter : str
        The report quarter.
    """
    if result.error:
        return
    executed = Path(stage) / f"{result.name}.ipynb"
    if result.not_computed:
        mark_not_computed(executed, result.not_computed, lang)
        fio.write_json(
            {"not_computed": result.not_computed, "quarter": quarter, "skipped_sections": []},
            Path(stage) / SUMMARY_DIR / f"{result.name}.json",
        )
    scrub_staging_path(executed, Path(stage), Path(final))
    set_language(executed, lang)
    if html:
        to_html(executed, lang)


#: pages started before the others, in this order: the longest ones and those computing the results
#: other pages share.  01 (customer base) and 08 (the value forecast) start together and compute
#: their shared results at the same time instead of one after the other; 04 computes the churn
#: backtest that 09 uses, so 09 comes after it; the short pages fill the gaps.  (10M lines: the
#: longest pages used to start last, and 09 waited for 01's results.)
START_FIRST = (
    "01_customer_composition",
    "08_value_forecast",
    "04_churn_risk",
    "09_account_management",
    "00_data_overview",
)


def start_order(notebooks: list[str]) -> list[str]:
    """The pages in the order they start: :data:`START_FIRST` first, the rest as listed.

    Parameters
    ----------
    notebooks : list of str
        The pages of the run.

    Returns
    -------
    list of str
        The same pages, reordered.
    """
    first = [n for n in START_FIRST if n in notebooks]
    return first + [n for n in notebooks if n not in first]


def run_notebooks(
    notebooks: list[str],
    params: dict[str, dict],
    stage: Path,
    *,
    pool: PagePool,
    progress: bool = True,
    nb_dir: Path = NOTEBOOK_DIR,
    env: dict[str, str] | None = None,
    finish: dict | None = None,
) -> list[NotebookResult]:
    """Execute the notebooks into ``stage`` on the workers of ``pool``, one page per worker at a time.

    On Ctrl-C (or any other exception) the kernels are killed and the workers
    stopped before the exception goes on, so nothing writes into ``stage``
    afterwards.  (A small pool of our own: concurrent.futures' pool can hang at
    exit when its workers are stopped from outside.)

    Parameters
    ----------
    notebooks : list of str
        The pages.
    params : dict of str to dict
        Parameters per page.
    stage : Path
        The staging folder.
    pool : PagePool
        The workers (started before the data were read, their kernels warmed meanwhile).
    progress : bool
        Show a progress bar.
    nb_dir : Path
        The notebooks folder.
    env : dict of str to str, optional
        Environment variables for the pages' kernels.
    finish : dict, optional
        Keywords of :func:`finish_page`, run by the worker after each page.

    Returns
    -------
    list of NotebookResult
        In the order of ``notebooks``.
    """
    from multiprocessing.connection import wait

    from tqdm import tqdm

    bar = tqdm(total=len(notebooks), desc="notebooks", unit="nb", disable=not progress)
    todo, busy, results = start_order(notebooks), {}, []
    workers = pool.workers
    idle = list(workers)
    try:
        while todo or busy:
            while todo and idle:
                proc, conn = idle.pop()
                name = todo.pop(0)
                conn.send((name, str(stage), params[name], str(nb_dir), env or {}, finish))
                busy[conn] = (proc, name, time.perf_counter())
            for conn in wait(list(busy)):
                proc, name, t0 = busy.pop(conn)
                try:
                    res = conn.recv()
                    idle.append((proc, conn))
                except EOFError:  # the worker died (out of memory, killed)
                    proc.join(5)
                    res = NotebookResult(
                        name,
                        time.perf_counter() - t0,
                        f"its worker process died (exit code {proc.exitcode})",
                    )
                    if todo:
                        idle.append(pool.replace((proc, conn)))
                bar.set_postfix_str(res.name)
                results.append(res)
                bar.update()
    except BaseException:
        pool.kill()  # before the caller removes the staging folder
        raise
    finally:
        bar.close()
    return sorted(results, key=lambda r: notebooks.index(r.name))


class PagePool:
    """The worker processes that run the pages, one kept kernel each (:func:`kept_kernel`).

    Started before the data are read (``with PagePool(...)``), each worker starts its kernel
    with the pages' environment and imports the pages' modules (:func:`warm_kept_kernel`)
    while the runner validates the data: on 2 cores that work used to wait for the validation.
    On leaving the block the workers are stopped; on an exception (a data error, Ctrl-C) the
    workers and kernels are killed at once, so nothing writes into the staging folder afterwards.
    (A small pool of our own: concurrent.futures' pool can hang at exit when its workers are
    stopped from outside.)

    Parameters
    ----------
    jobs : int
        Workers (pages run at once); at least one.
    nb_dir : Path
        The notebooks folder.
    env : dict of str to str, optional
        Environment of the kernels; with it the kernels are started and warmed at once.
    """

    def __init__(self, jobs: int, *, nb_dir: Path = NOTEBOOK_DIR, env: dict | None = None):
        self.jobs = max(1, jobs)
        self.warm = None if env is None else {"env": dict(env), "nb_dir": str(nb_dir)}
        self.workers: list = []
        self._ctx = mp.get_context("spawn")
        self._before: dict = {}

    def __enter__(self) -> PagePool:
        self._before = _descendants()
        try:
            for _ in range(self.jobs):
                self.workers.append(_start_worker(self._ctx, self.warm))
        except BaseException:
            _stop_new_processes(self._before)
            raise
        return self

    def replace(self, dead) -> tuple:
        """A new worker instead of ``dead`` (died with its page: out of memory, killed).

        Parameters
        ----------
        dead : tuple
            The ``(process, connection)`` of the worker that died.

        Returns
        -------
        tuple
            The new worker's ``(process, connection)``.
        """
        with contextlib.suppress(ValueError):
            self.workers.remove(dead)
        self.workers.append(_start_worker(self._ctx, self.warm))
        return self.workers[-1]

    def kill(self) -> None:
        """Kill the workers and kernels at once (a page still running is not finished)."""
        _stop_new_processes(self._before)

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            self.kill()
        self.close()

    def close(self) -> None:
        """Stop the workers and their kernels (once the pages ran); a second call does nothing."""
        for _proc, conn in self.workers:
            with contextlib.suppress(OSError, ValueError):
                conn.send(None)
        stuck = False
        for proc, conn in self.workers:
            proc.join(10)
            if proc.is_alive():
                stuck = True
                proc.kill()
                proc.join(5)
            conn.close()
        self.workers = []
        if stuck:  # a killed worker leaves its kernel behind
            self.kill()


def build_report(
    data_dir: str | Path,
    *,
    quarter: str = "",
    out: str | Path = "reports",
    params_file: str | Path | None = None,
    overrides: dict[str, str] | None = None,
    lang: str | None = None,
    jobs: int = 1,
    notebooks: list[str] | None = None,
    nb_dir: Path = NOTEBOOK_DIR,
    progress: bool = True,
    html: bool = True,
    merge: bool = False,
    params_dir: Path | None = PARAMS_DIR,
    pdf: bool = False,
    firm: str | None = None,
    engine: str = "auto",
) -> Path:
    """Build ``<out>/<quarter>/`` from a data directory.

    With ``pdf`` (``ccm report`` and ``ccm run`` by default), ``report.pdf`` is written
    too (:mod:`analysis.report.pdf`); ``firm`` names the firm on its cover (default: the
    params file's ``firm`` key, else the data folder's name).

    With ``merge`` (``ccm run``), the pages of the existing report are kept and
    only the given notebooks are re-run and replaced; the existing report must
    have been built from the same data files and in the same language
    (``provenance.json``).

    Raises DataError for bad input data and ReportError for bad parameters, a
    failing notebook or a report of other data, always before the previous
    report of the quarter is touched; ReportInterrupted on Ctrl-C, after removing
    the staging folder.  A page stopped by InsufficientData is kept with a note
    (``not_computed`` in summary.json) and the report is written.

    Parameters
    ----------
    data_dir : str or Path
        The data folder.
    quarter : str
        The quarter; empty: the latest complete one.
    out : str or Path
        The reports folder.
    params_file : str or Path, optional
        The params file.
    overrides : dict, optional
        ``-p`` values.
    lang : str, optional
        The report language.
    jobs : int
        Pages run at once.
    notebooks : list of str, optional
        Pages to run (default all).
    nb_dir : Path
        The notebooks folder.
    progress : bool
        Show a progress bar.
    html : bool
        Export HTML pages.
    merge : bool
        Keep the other pages of an existing report.
    params_dir : Path, optional
        Folder of the default params files.
    pdf : bool
        Write report.pdf.
    firm : str, optional
        The firm's name on the PDF cover.
    engine : str
        What aggregates the transaction lines on every page (``auto``, ``pandas``,
        ``duckdb``, ``spark``; :func:`analysis.engine.aggregate.default_engine`).

    Returns
    -------
    Path
        The report folder.
    """
    from analysis.data.validated import ENV_VAR
    from analysis.engine.aggregate import ENGINE_ENV, ENGINES

    if engine not in ENGINES:
        raise ReportError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    out = report_folder(out)
    remove_stale_builds(out)
    data_dir = Path(data_dir).resolve()
    # validate once, up front: a data error stops before any notebook; the pages read the
    # validated copy, not the files again (removed in every case, below)
    kept = out / f".validated-{os.getpid()}"
    notebooks = notebooks or discover_notebooks(nb_dir)
    env = {ENV_VAR: str(kept), ENGINE_ENV: engine}
    try:
        # the workers start their kernels while the data are read and validated
        with PagePool(min(jobs, len(notebooks)), nb_dir=nb_dir, env=env) as pool:
            return _build_in(
                data_dir,
                kept,
                pool,
                quarter=quarter,
                out=out,
                params_file=params_file,
                overrides=overrides,
                lang=lang,
                notebooks=notebooks,
                nb_dir=nb_dir,
                progress=progress,
                html=html,
                merge=merge,
                params_dir=params_dir,
                pdf=pdf,
                firm=firm,
                env=env,
            )
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def _build_in(
    data_dir: Path,
    kept: Path,
    pool: PagePool,
    *,
    quarter,
    out,
    params_file,
    overrides,
    lang,
    notebooks,
    nb_dir,
    progress,
    html,
    merge,
    params_dir,
    pdf,
    firm,
    env,
) -> Path:
    """:func:`build_report` once the validated copy's folder is named and the workers are starting
    (``pool.close()`` stops them)."""
    q, fingerprint = prepare_data(data_dir, quarter, kept)
    if params_file is None and params_dir is not None:
        params_file = default_params_file(q, params_dir)
    from analysis.data import io as aio

    conf = aio.read_yaml(params_file) if params_file else {}
    if not isinstance(conf, dict):
        raise ReportError(f"{params_file}: expected a mapping of parameters")
    firm = firm or str(conf.pop("firm", "") or data_dir.name)  # the PDF's cover, not a notebook's
    if lang:
        overrides = {**(overrides or {}), "lang": lang}
    params = resolve_params(
        notebooks,
        conf,
        overrides,
        nb_dir=nb_dir,
        source=Path(params_file).name if params_file else "params",
        params_dir=Path(params_file).resolve().parent if params_file else None,
    )
    report_lang = params[notebooks[0]].get("lang") or "zh"
    final = out / q
    if final.exists() and not final.is_dir():
        raise ReportError(f"{final} is a file; the report of {q} needs that name for its folder")
    previous = (
        check_same_report(final, fingerprint, report_lang) if merge and final.exists() else None
    )
    had_report = final.exists()
    stage = out / f".{q}.building-{os.getpid()}"
    try:
        if stage.exists():
            shutil.rmtree(stage)
        if merge and final.exists():
            shutil.copytree(final, stage)
        else:
            stage.mkdir()
        for nb in notebooks:
            params[nb].update(data_dir=str(data_dir), quarter=q, output_dir=str(stage))
        results = run_notebooks(
            notebooks,
            params,
            stage,
            progress=progress,
            nb_dir=nb_dir,
            env=env,
            finish={"final": str(final), "lang": report_lang, "html": html, "quarter": q},
            pool=pool,
        )
        pool.close()  # the kernels' memory goes back before the report is assembled
        failed = [r for r in results if r.error]
        if failed:
            failed_dir = out / f"{q}.failed"
            if failed_dir.exists():
                shutil.rmtree(failed_dir)
            stage.rename(failed_dir)
            lines = [f"{r.name} failed at {r.error}" for r in failed]
            raise ReportError(
                "the report was not updated: "
                + "; ".join(lines)
                + f". The executed notebooks are kept in {failed_dir} for debugging"
                + (f"; the previous report in {final} is unchanged." if had_report else ".")
            )
        pages = [nb for nb in discover_notebooks(nb_dir) if (stage / f"{nb}.ipynb").exists()]
        summary = collect_summary(stage, pages)
        fio.write_json(summary, stage / "summary.json")
        fio.write_json(
            _provenance(
                previous,
                quarter=q,
                lang=report_lang,
                fingerprint=fingerprint,
                params={nb: params[nb] for nb in notebooks},
                pages=pages,
            ),
            stage / PROVENANCE_FILE,
        )
        write_index(
            stage,
            q,
            pages,
            summary,
            data_dir=data_dir,
            lang=report_lang,
            timings={r.name: r.seconds for r in results},
        )
        from analysis.report.pdf import write_report_pdf

        write_report_pdf(stage, pages, quarter=q, lang=report_lang, firm=firm, enabled=pdf and html)
        embed_cjk_font(stage)
        _swap_into_place(stage, final)
    except KeyboardInterrupt:
        shutil.rmtree(stage, ignore_errors=True)
        raise ReportInterrupted(INTERRUPTED if had_report else INTERRUPTED_FIRST) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    stale = out / f"{q}.failed"
    if stale.exists():
        shutil.rmtree(stale)
    return final


#: inputs of at least this many bytes are read and validated in a child process, so that
#: the runner does not hold the whole data while the pages run (its memory goes back when
#: the child ends); smaller data are read in the runner (a child costs ~2 s to start)
CHILD_LOAD_BYTES = 50_000_000


def _load_and_keep(data_dir: Path, quarter: str, kept: Path) -> tuple[str, dict]:
    from analysis.data import io as aio
    from analysis.data.periods import resolve_quarter
    from analysis.data.validated import write_validated

    ds = aio.load_dataset(data_dir)
    q = str(resolve_quarter(quarter, ds.transactions["date"]))
    fingerprint = data_fingerprint(ds)
    write_validated(ds, kept, fingerprint=fingerprint)
    return q, fingerprint


def _load_child(conn, data_dir: str, quarter: str, kept: str) -> None:
    """The child process of :func:`prepare_data`: its outcome goes back over ``conn``."""
    from analysis.data.validation import DataError

    try:
        conn.send(("ok", _load_and_keep(Path(data_dir), quarter, Path(kept))))
    except DataError as exc:
        conn.send(("data", str(exc), exc.file, exc.column, exc.rows))
    except ValueError as exc:
        conn.send(("value", str(exc)))
    except BaseException as exc:  # reported by the parent as one line
        conn.send(("other", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _data_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())


def prepare_data(
    data_dir: Path, quarter: str, kept: Path, *, child: bool | None = None
) -> tuple[str, dict]:
    """Read and validate the data once, resolve the quarter, and keep the validated tables in
    ``kept`` for the pages (:mod:`analysis.data.validated`).

    Large data (:data:`CHILD_LOAD_BYTES`) are read in a child process: the same checks and
    messages, but the runner's memory stays small while the pages run.

    Parameters
    ----------
    data_dir : Path
        The data folder.
    quarter : str
        The quarter asked for (empty: the latest complete one).
    kept : Path
        A new folder for the validated copy.
    child : bool, optional
        Force (True) or avoid (False) the child process; default by the data's size.

    Returns
    -------
    tuple of (str, dict)
        The quarter and the data's fingerprint.

    Raises
    ------
    DataError, ValueError
        As :func:`analysis.data.io.load_dataset` and :func:`resolve_quarter` raise them.
    """
    from analysis.data.validation import DataError

    if child is None:
        child = _data_bytes(data_dir) >= CHILD_LOAD_BYTES
    if not child:
        return _load_and_keep(data_dir, quarter, kept)
    ctx = mp.get_context("spawn")
    parent, end = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_load_child, args=(end, str(data_dir), quarter, str(kept)), name="ccm-validate"
    )
    proc.start()
    end.close()
    try:
        msg = parent.recv()
    except EOFError:
        msg = ("other", f"the process reading the data died (exit code {proc.exitcode})")
    except BaseException:  # Ctrl-C: the child gets it too; make sure it is gone
        proc.kill()
        raise
    finally:
        proc.join(30)
        parent.close()
    if msg[0] == "ok":
        return msg[1]
    if msg[0] == "data":
        err = DataError.__new__(DataError)
        ValueError.__init__(err, msg[1])
        err.file, err.column, err.rows = msg[2], msg[3], msg[4]
        raise err
    if msg[0] == "value":
        raise ValueError(msg[1])
    raise ReportError(f"reading the data failed: {msg[1]}")


def not_computed_pages(final: str | Path, notebooks: list[str] | None = None) -> dict[str, str]:
    """The pages of a report whose model could not be computed: {notebook: reason}.

    Parameters
    ----------
    final : str or Path
        The report folder.
    notebooks : list of str, optional
        Pages asked about.

    Returns
    -------
    dict of str to str
    """
    path = Path(final) / "summary.json"
    summary = fio.read_json(path) if path.exists() else {}
    return {
        nb: v["not_computed"]
        for nb, v in summary.items()
        if isinstance(v, dict) and v.get("not_computed") and (notebooks is None or nb in notebooks)
    }


def run_one(
    name: str,
    *,
    data_dir,
    out_dir,
    params: dict | None = None,
    quarter: str = "",
    nb_dir: Path = NOTEBOOK_DIR,
) -> dict:
    """Execute one notebook into ``out_dir`` (no staging) and return its recorded summary.

    Used by the tests and by ``ccm run``-like callers that want the numbers back.

    Parameters
    ----------
    name : str
        Notebook name.
    data_dir : str or Path
        The data folder.
    out_dir : str or Path
        The output folder.
    params : dict, optional
        Parameters.
    quarter : str
        The quarter.
    nb_dir : Path
        The notebooks folder.

    Returns
    -------
    dict
        The page's summary record.
    """
    out_dir = Path(
        out_dir
    ).resolve()  # the kernel runs in notebooks/, so relative paths would break
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(data_dir).resolve()
    conf = dict(params or {})
    checked = resolve_params(
        [name],
        {k: v for k, v in conf.items() if k not in RUNNER_PARAMS},
        nb_dir=nb_dir,
        source="params",
    )[name]
    checked.update(
        data_dir=str(data_dir), quarter=quarter or conf.get("quarter", ""), output_dir=str(out_dir)
    )
    res = execute(name, out_dir, checked, nb_dir=nb_dir)
    if res.not_computed:
        return {"not_computed": res.not_computed}
    if res.error:
        raise ReportError(
            f"{name} failed at {res.error}; executed notebook kept in {out_dir / (name + '.ipynb')}"
        )
    path = out_dir / SUMMARY_DIR / f"{name}.json"
    return fio.read_json(path) if path.exists() else {}
