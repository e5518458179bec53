"""The workshop kit (培训工作坊): checked exercises, student notebooks, answer key, glossary.

The teacher notebooks ``notebooks/workshop/NN_name.ipynb`` are the one source.
Their cells follow four tags:

- ``exercise``: a markdown cell stating an exercise;
- ``solution``: a code cell assigning the answer variables (names start with
  ``ans_``); the student version replaces it with ``ans_x = None  # your answer``;
- ``check``: a code cell calling :meth:`Exercises.check`, which prints "correct"
  or a hint in the notebook's language and never raises; expected values are
  computed there by the same ``analysis`` helpers, so they follow the data;
- ``teacher``: a markdown note for the trainer, left out of the student version
  and copied to the answer key.

``ccm workshop build`` (:func:`build`) writes the student notebooks
(``notebooks/workshop/student/``), the answer key (``docs/workshop-answer-key.md``)
and the glossary (``docs/glossary.md``, from the label table the charts use).
The outputs depend only on the teacher notebooks and the labels, so building
twice gives identical files.
"""

from __future__ import annotations

import ast
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import NOTEBOOK_DIR, PROJECT_ROOT
from analysis.viz.labels import check_lang, glossary, label

__all__ = [
    "WORKSHOP_DIR",
    "STUDENT_DIR",
    "ANSWER_KEY",
    "GLOSSARY",
    "MIME",
    "STATUSES",
    "CheckResult",
    "Progress",
    "Exercises",
    "compare",
    "notebook_results",
    "rules_table",
    "teacher_notebooks",
    "exercises_of",
    "student_notebook",
    "build_student",
    "answer_key_markdown",
    "build_answer_key",
    "glossary_markdown",
    "write_glossary",
    "build",
    "run_workshop_notebook",
]

WORKSHOP_DIR = NOTEBOOK_DIR / "workshop"
STUDENT_DIR = WORKSHOP_DIR / "student"
ANSWER_KEY = PROJECT_ROOT / "docs" / "workshop-answer-key.md"
GLOSSARY = PROJECT_ROOT / "docs" / "glossary.md"
#: the output type under which checks record their result in the executed notebook
MIME = "application/vnd.ccm.workshop+json"
STATUSES = ("correct", "wrong", "unanswered", "invalid")
ANSWER_PREFIX = "ans_"
PLACEHOLDER = "{name} = None  # your answer · 你的答案"
TAGS = {"exercise", "solution", "check", "teacher"}


# ================================================================ checking answers
_MARKS = {"correct": "✅", "wrong": "❌", "unanswered": "✏️", "invalid": "⚠️"}


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one answer; a notebook shows it as one line ("correct ✓" or a hint).

    ``status`` is one of :data:`STATUSES`; ``bool(result)`` is True when correct.
    """

    exercise: str
    status: str
    message: str = ""
    notebook: str = ""
    lang: str = "zh"

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    def __bool__(self) -> bool:
        return self.correct

    @property
    def headline(self) -> str:
        return f"{label('ws_exercise', self.lang)} {self.exercise}: {label('ws_' + self.status, self.lang)}"

    def payload(self) -> dict:
        """The result as the JSON the notebook's output carries.

        Returns
        -------
        dict
        """
        return {
            "kind": "check",
            "notebook": self.notebook,
            "exercise": self.exercise,
            "status": self.status,
            "message": self.message,
        }

    def __str__(self) -> str:
        return self.headline + (f" · {self.message}" if self.message else "")

    def _repr_mimebundle_(self, include=None, exclude=None):
        md = f"{_MARKS[self.status]} **{self.headline}**" + (
            f"<br>{self.message}" if self.message else ""
        )
        return {"text/markdown": md, "text/plain": str(self), MIME: self.payload()}


@dataclass(frozen=True)
class Progress:
    """Where a learner stands in one notebook: counts per status and the exercises still to do."""

    notebook: str
    results: tuple
    lang: str = "zh"

    def count(self, status: str) -> int:
        """Exercises with this status.

        Parameters
        ----------
        status : str
            A check status.

        Returns
        -------
        int
        """
        return sum(r.status == status for r in self.results)

    @property
    def todo(self) -> list[str]:
        return [r.exercise for r in self.results if not r.correct]

    def payload(self) -> dict:
        """The progress as the JSON the notebook's output carries.

        Returns
        -------
        dict
        """
        return {
            "kind": "summary",
            "notebook": self.notebook,
            "total": len(self.results),
            **{s: self.count(s) for s in STATUSES},
            "todo": self.todo,
            "results": [{"exercise": r.exercise, "status": r.status} for r in self.results],
        }

    def __str__(self) -> str:
        line = label(
            "ws_summary_line",
            self.lang,
            total=len(self.results),
            correct=self.count("correct"),
            wrong=self.count("wrong") + self.count("invalid"),
            unanswered=self.count("unanswered"),
        )
        if self.todo:
            line += " " + label("ws_summary_todo", self.lang, names=", ".join(self.todo))
        return line

    def _repr_mimebundle_(self, include=None, exclude=None):
        md = f"**{label('ws_summary_title', self.lang)}**: {self}"
        return {"text/markdown": md, "text/plain": str(self), MIME: self.payload()}


class _Reason(Exception):
    """An answer is wrong for a reason worth telling (a label key with format values)."""

    def __init__(self, reason_key: str, /, **fmt):
        super().__init__(reason_key)
        self.key, self.fmt = reason_key, fmt


def _unwrap(v):
    """numpy scalars and 0-d arrays to Python values."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v.item()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _kind(v) -> str:
    v = _unwrap(v)
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, numbers.Real):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, pd.DataFrame):
        return "table"
    if isinstance(v, (Mapping, pd.Series)):
        return "mapping"
    if isinstance(v, (set, frozenset, list, tuple, np.ndarray, pd.Index)):
        return "list"
    return "other"


def _type_name(kind: str, lang: str) -> str:
    try:
        return label(f"ws_type_{kind}", lang)
    except KeyError:
        return kind


def _same_number(a: float, e: float, rel_tol: float, abs_tol: float) -> bool:
    if math.isnan(e):
        return math.isnan(a)
    return math.isclose(a, e, rel_tol=rel_tol, abs_tol=abs_tol)


def _compare_number(a, e, rel_tol, abs_tol) -> None:
    a, e = float(a), float(e)
    if _same_number(a, e, rel_tol, abs_tol):
        return
    if math.isnan(a):
        raise _Reason("ws_reason_nan")
    if e != 0 and abs(e) <= 1.5 and _same_number(a / 100, e, rel_tol, abs_tol):
        raise _Reason("ws_reason_percent")
    if e != 0 and _same_number(-a, e, rel_tol, abs_tol):
        raise _Reason("ws_reason_sign")
    raise _Reason("ws_reason_too_high" if a > e or math.isnan(e) else "ws_reason_too_low")


def _compare_scalar(a, e, rel_tol, abs_tol) -> None:
    a, e = _unwrap(a), _unwrap(e)
    ka, ke = _kind(a), _kind(e)
    if ke == "number" and ka == "number":
        return _compare_number(a, e, rel_tol, abs_tol)
    if ka != ke:
        if ka in ("table", "mapping", "list") and ke in ("number", "text", "bool"):
            raise _Reason("ws_reason_table", got=type(a).__name__)
        raise _Reason("ws_reason_type", expected=ke, got=ka)
    if ke == "text":
        if a.strip().casefold() != e.strip().casefold():
            raise _Reason("ws_reason_text")
        return
    if ke == "bool":
        if a != e:
            raise _Reason("ws_reason_bool")
        return
    if a != e:
        raise _Reason("ws_reason_text")


def _as_list(v) -> list:
    if isinstance(v, (pd.Series, pd.Index, np.ndarray)):
        return list(v.tolist())
    return list(v)


def _norm(v):
    v = _unwrap(v)
    if isinstance(v, str):
        return v.strip().casefold()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def compare(
    answer, expected, *, rel_tol: float = 1e-3, abs_tol: float = 1e-6, unordered: bool = False
) -> None:
    """Compare an answer with the expected value; raise ``_Reason`` when they differ.

    Numbers match within ``rel_tol`` (relative) or ``abs_tol`` (absolute), text
    ignoring case and surrounding spaces, lists item by item (as sets with
    ``unordered`` or when ``expected`` is a set), dicts key by key (a Series
    answer counts as a dict).  Used by :meth:`Exercises.check`.

    Parameters
    ----------
    answer : object
        The student's answer.
    expected : object
        The expected value.
    rel_tol, abs_tol : float
        Tolerances of numbers.
    unordered : bool
        Compare lists as sets.

    Returns
    -------
    None
        Nothing when they match.
    """
    ke = _kind(expected)
    ka = _kind(answer)
    if ke in ("number", "text", "bool", "none", "other"):
        return _compare_scalar(answer, expected, rel_tol, abs_tol)
    if ke == "list":
        if ka != "list" and not isinstance(answer, pd.Series):
            raise _Reason("ws_reason_type", expected="list", got=ka)
        a, e = _as_list(answer), _as_list(expected)
        if unordered or isinstance(expected, (set, frozenset)):
            sa, se = {_norm(x) for x in a}, {_norm(x) for x in e}
            if sa != se:
                raise _Reason("ws_reason_set", missing=len(se - sa), extra=len(sa - se))
            return
        if len(a) != len(e):
            raise _Reason("ws_reason_length", expected=len(e), got=len(a))
        for i, (x, y) in enumerate(zip(a, e), start=1):
            try:
                _compare_scalar(x, y, rel_tol, abs_tol)
            except _Reason:
                raise _Reason("ws_reason_item", position=i) from None
        return
    if ke == "mapping":
        if ka != "mapping":
            raise _Reason("ws_reason_type", expected="mapping", got=ka)
        a = {str(k): v for k, v in dict(answer).items()}
        e = {str(k): v for k, v in dict(expected).items()}
        missing = [k for k in e if k not in a]
        if missing:
            raise _Reason("ws_reason_keys", keys=", ".join(missing))
        if set(a) - set(e):
            raise _Reason("ws_reason_set", missing=0, extra=len(set(a) - set(e)))
        for k, y in e.items():
            try:
                _compare_scalar(a[k], y, rel_tol, abs_tol)
            except _Reason:
                raise _Reason("ws_reason_key_value", name=k) from None
        return
    raise _Reason(
        "ws_reason_type", expected=ke, got=ka
    )  # pragma: no cover - tables are not expected values


class Exercises:
    """The exercises of one workshop notebook: check answers, show hints, sum up.

    Parameters
    ----------
    notebook : str
        The notebook's name (``01_why_classify``), recorded with every result.
    lang : {"zh", "en"}
        Language of the messages and hints.

    Examples
    --------
    >>> ex = Exercises("01_why_classify", lang="en")
    >>> print(ex.check("ex_growth_value", 48_000, 48_000.0))
    Exercise ex_growth_value: correct ✓
    >>> print(ex.check("ex_growth_value", None, 48_000.0).status)
    unanswered
    """

    def __init__(self, notebook: str, lang: str = "zh"):
        self.notebook = notebook
        self.lang = check_lang(lang)
        self._results: dict[str, CheckResult] = {}

    def check(
        self,
        exercise: str,
        answer,
        expected,
        *,
        hint_key: str | None = None,
        rel_tol: float = 1e-3,
        abs_tol: float = 1e-6,
        unordered: bool = False,
    ) -> CheckResult:
        """Compare ``answer`` with ``expected`` and record the verdict.

        Never raises: an unanswered exercise (``None`` or ``...``), an answer of
        the wrong type, or an expected value that cannot be computed (pass a
        callable as ``expected`` to catch errors there too) each give a message
        instead of a traceback.  As the last line of a cell, the returned
        result shows as "correct ✓" or as what is wrong plus the hint.

        Parameters
        ----------
        exercise : str
            The exercise id (``ex_top20_share``).
        answer
            The learner's answer (a number, text, bool, list or dict).
        expected
            The right answer, or a callable without arguments returning it.
        hint_key : str, optional
            Label key of the exercise's hint, shown with any wrong answer.
        rel_tol, abs_tol : float
            Tolerances for numbers (relative 0.1% by default).
        unordered : bool
            Compare lists as sets.

        Returns
        -------
        CheckResult
            Truthy when the answer is correct.
        """
        try:
            status, message = self._judge(
                answer,
                expected,
                hint_key=hint_key,
                rel_tol=rel_tol,
                abs_tol=abs_tol,
                unordered=unordered,
            )
        except Exception as exc:  # the promise to learners: a message, never a traceback
            status, message = "invalid", self._t("ws_reason_error", error=type(exc).__name__)
        result = CheckResult(exercise, status, message, notebook=self.notebook, lang=self.lang)
        self._results[exercise] = result
        return result

    def _t(self, key: str, /, **fmt) -> str:
        return label(key, self.lang, **fmt)

    def _judge(self, answer, expected, *, hint_key, rel_tol, abs_tol, unordered) -> tuple[str, str]:
        if answer is None or answer is Ellipsis:
            return "unanswered", self._t("ws_reason_unanswered")
        if callable(expected):
            try:
                expected = expected()
            except Exception as exc:
                return "invalid", self._t(
                    "ws_reason_expected_failed", error=f"{type(exc).__name__}: {exc}"
                )
        try:
            compare(answer, expected, rel_tol=rel_tol, abs_tol=abs_tol, unordered=unordered)
        except _Reason as why:
            fmt = dict(why.fmt)
            if why.key == "ws_reason_type":
                fmt = {k: _type_name(v, self.lang) for k, v in fmt.items()}
            text = self._t(why.key, **fmt)
            if hint_key:
                try:
                    text += f" {self._t('ws_hint')}: {self._t(hint_key)}"
                except KeyError:
                    pass
            return "wrong", text
        return "correct", ""

    @property
    def results(self) -> pd.DataFrame:
        """One row per exercise checked so far: exercise, status, message."""
        rows = [(r.exercise, r.status, r.message) for r in self._results.values()]
        return pd.DataFrame(rows, columns=["exercise", "status", "message"])

    def summary(self) -> Progress:
        """The notebook's progress (shown as one line: counts and the exercises still to do).

        Returns
        -------
        Progress
        """
        return Progress(self.notebook, tuple(self._results.values()), lang=self.lang)


def notebook_results(nb) -> dict:
    """The check results recorded in an executed notebook (a path or a ``NotebookNode``).

    Parameters
    ----------
    nb : NotebookNode or path
        An executed notebook.

    Returns
    -------
    dict
        ``checks`` (list of the per-exercise payloads, in order) and ``summary``
        (the last summary payload, or None when the notebook did not reach it).
    """
    import nbformat

    if not hasattr(nb, "cells"):
        nb = nbformat.read(str(nb), as_version=4)
    checks, summary = [], None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            payload = out.get("data", {}).get(MIME)
            if not payload:
                continue
            if payload.get("kind") == "summary":
                summary = dict(payload)
            else:
                checks.append(dict(payload))
    return {"checks": checks, "summary": summary}


# ================================================================ notebook tables
def rules_table(rules, lang: str = "zh") -> pd.DataFrame:
    """The class rules of a :class:`analysis.classify.tags.TagRules`, one row per class, for reading in class.

    Columns are label keys (``ws_rule_*``) so that :func:`analysis.viz.tables.show` names them;
    tags are shown in ``lang`` (English names from the rules file).

    Parameters
    ----------
    rules : TagRules
        The rules.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        One row per class.
    """
    sep = "、" if lang == "zh" else ", "

    def names(tags) -> str:
        return sep.join(rules.tag_name(t, lang) for t in tags)

    rows = [
        {
            "ws_rule_class": r["key"],
            "ws_rule_name": rules.class_name(r["key"], lang),
            "ws_rule_all_of": names(r["all_of"]),
            "ws_rule_any_of": names(r["any_of"]),
            "ws_rule_min_any": r["min_any"] if r["any_of"] else np.nan,
            "ws_rule_none_of": names(r["none_of"]),
        }
        for r in rules.classes
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "ws_rule_class",
            "ws_rule_name",
            "ws_rule_all_of",
            "ws_rule_any_of",
            "ws_rule_min_any",
            "ws_rule_none_of",
        ],
    )


# ================================================================ teacher -> student
def teacher_notebooks(src_dir: str | Path = WORKSHOP_DIR) -> list[Path]:
    """The teacher notebooks ``NN_name.ipynb`` of a workshop folder, in order.

    Parameters
    ----------
    src_dir : str or Path
        The workshop folder.

    Returns
    -------
    list of Path
    """
    return sorted(Path(src_dir).glob("[0-9][0-9]_*.ipynb"))


def _cell_tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _assigned(source: str) -> list[str]:
    """Top-level names a cell assigns, in order."""
    names: list[str] = []
    for node in ast.parse(source).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in names:
                    names.append(n.id)
    return names


def _loaded(source: str) -> set[str]:
    return {
        n.id
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _check_calls(source: str) -> list[dict]:
    """The ``.check("ex_id", answer, expected, hint_key=...)`` calls of a check cell."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "check"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            kw = {k.arg: k.value for k in node.keywords}
            hint = kw.get("hint_key")
            expected = node.args[2] if len(node.args) > 2 else kw.get("expected")
            calls.append(
                {
                    "exercise": node.args[0].value,
                    "answer": ast.unparse(node.args[1]) if len(node.args) > 1 else "",
                    "expected": ast.unparse(expected) if expected is not None else "",
                    "hint_key": hint.value if isinstance(hint, ast.Constant) else None,
                }
            )
    return calls


def exercises_of(nb, *, name: str = "") -> list[dict]:
    """The exercises of a teacher notebook, validated.

    Each solution cell must assign at least one ``ans_`` name, be followed by a
    check cell that checks each of them, and leave no other name that a later
    cell reads (the student version drops the solution, so such a name would be
    undefined there).

    Parameters
    ----------
    nb : NotebookNode or path
        A teacher notebook.
    name : str
        The notebook's name, for messages.

    Returns
    -------
    list of dict
        Per exercise: ``exercise``, ``prompt`` (the last exercise markdown
        before the solution), ``solution``, ``answers`` (names), ``expected``
        (the check's expression), ``hint_key``, ``teacher_notes``.

    Raises
    ------
    ValueError
        naming the notebook and cell when a convention is broken.
    """
    cells = nb.cells
    out, prompt, notes = [], "", []
    for i, cell in enumerate(cells):
        tags = _cell_tags(cell)
        where = f"{name or 'notebook'}, cell {i}"
        if "exercise" in tags:
            prompt, notes = cell.source, []
        elif "teacher" in tags:
            notes.append(cell.source)
        if "solution" not in tags:
            continue
        if cell.cell_type != "code":
            raise ValueError(f"{where}: a solution cell must be a code cell")
        assigned = _assigned(cell.source)
        answers = [n for n in assigned if n.startswith(ANSWER_PREFIX)]
        if not answers:
            raise ValueError(f"{where}: the solution assigns no {ANSWER_PREFIX}* name")
        nxt = next((j for j in range(i + 1, len(cells)) if cells[j].cell_type == "code"), None)
        if nxt is None or "check" not in _cell_tags(cells[nxt]):
            raise ValueError(
                f"{where}: the solution must be followed by a code cell tagged 'check'"
            )
        calls = _check_calls(cells[nxt].source)
        unchecked = [a for a in answers if not any(a in c["answer"] for c in calls)]
        if not calls or unchecked:
            raise ValueError(
                f"{where}: the check cell does not check {', '.join(unchecked) or answers[0]}"
            )
        temporaries = set(assigned) - set(answers)
        later = set().union(
            *(
                _loaded(c.source)
                for c in cells[i + 1 :]
                if c.cell_type == "code" and "solution" not in _cell_tags(c)
            )
        )
        leaked = sorted(temporaries & later)
        if leaked:
            raise ValueError(
                f"{where}: later cells use {', '.join(leaked)}, which only the solution defines; "
                f"compute it in a demonstration cell instead"
            )
        for call in calls:
            out.append(
                {
                    "exercise": call["exercise"],
                    "prompt": prompt,
                    "solution": cell.source,
                    "answers": answers,
                    "expected": call["expected"],
                    "hint_key": call["hint_key"],
                    "teacher_notes": list(notes),
                }
            )
    ids = [e["exercise"] for e in out]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise ValueError(f"{name or 'notebook'}: exercise ids used twice: {', '.join(dup)}")
    return out


def student_notebook(nb, *, name: str = ""):
    """The student version of a teacher notebook (a new ``NotebookNode``; ``nb`` is not changed).

    Solution cells become ``ans_x = None  # your answer`` cells (same cell id,
    tag ``answer``), teacher notes are dropped, check cells get their source
    collapsed, outputs are cleared and a banner says where the file comes from.

    Parameters
    ----------
    nb : NotebookNode or path
        A teacher notebook.
    name : str
        The notebook's name, for messages.

    Returns
    -------
    NotebookNode
    """
    import copy

    import nbformat

    exercises_of(nb, name=name)  # validate before writing anything
    new = copy.deepcopy(nb)
    cells = []
    for cell in new.cells:
        tags = _cell_tags(cell)
        if "teacher" in tags:
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if "solution" in tags:
            answers = [n for n in _assigned(cell.source) if n.startswith(ANSWER_PREFIX)]
            cell.source = "\n".join(PLACEHOLDER.format(name=a) for a in answers)
            cell.metadata = {"tags": ["answer"]}
        elif "check" in tags:
            cell.metadata = {**cell.metadata, "jupyter": {"source_hidden": True}}
        cells.append(cell)
    banner = nbformat.v4.new_markdown_cell(
        f"> **学员版 · Student version.** 在每个 `ans_…` 单元格填入答案，再运行它下面（已折叠）的检查单元格。"
        f"Fill in each `ans_…` cell, then run the (collapsed) check cell below it.\n>\n"
        f"> *Generated by `ccm workshop build` from `notebooks/workshop/{name}.ipynb`: edit that file, not this one.*",
        id="student-banner",
    )
    cells.insert(1 if cells and cells[0].cell_type == "markdown" else 0, banner)
    new.cells = cells
    new.metadata = {**new.metadata, "workshop": {"version": "student", "source": f"{name}.ipynb"}}
    return new


def _read_nb(path: Path):
    from analysis.data.io import read_notebook

    return read_notebook(path)


def _write_text(text: str, path: Path) -> Path:
    from analysis.data.io import write_text

    return write_text(text, path)


def build_student(
    src_dir: str | Path = WORKSHOP_DIR, out_dir: str | Path | None = None
) -> list[Path]:
    """Write the student version of every teacher notebook.

    ``out_dir`` defaults to ``<src_dir>/student``.  Files are written
    byte-for-byte the same for the same teacher notebooks.

    Parameters
    ----------
    src_dir : str or Path
        The workshop folder.
    out_dir : str or Path, optional
        Where they go.

    Returns
    -------
    list of Path
        The paths written.
    """
    import nbformat

    src_dir = Path(src_dir)
    out_dir = Path(out_dir) if out_dir is not None else src_dir / "student"
    paths = []
    for path in teacher_notebooks(src_dir):
        student = student_notebook(_read_nb(path), name=path.stem)
        nbformat.validate(student)
        paths.append(_write_text(nbformat.writes(student) + "\n", out_dir / path.name))
    return paths


def _title(nb) -> str:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    line = first.strip().splitlines()[0] if first.strip() else ""
    return line.lstrip("#").strip()


def _fence(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def answer_key_markdown(src_dir: str | Path = WORKSHOP_DIR) -> str:
    """The answer key: per notebook and exercise the task, the solution, what it is checked against and the hint.

    Parameters
    ----------
    src_dir : str or Path
        The workshop folder.

    Returns
    -------
    str
    """
    parts = [
        "# 工作坊答案 · Workshop answer key",
        "",
        "Generated by `ccm workshop build` from the teacher notebooks in `notebooks/workshop/`; do not edit by hand. "
        "The expected values are computed in each check cell from the data the notebook runs on, so they are "
        "shown here as the expression the check uses, not as numbers.",
        "",
        "由 `ccm workshop build` 根据 `notebooks/workshop/` 中的讲师版笔记本生成，请勿手工修改。标准答案在检查单元格中"
        "根据所用数据实时计算，因此这里给出计算式而不是数字。",
    ]
    for path in teacher_notebooks(src_dir):
        nb = _read_nb(path)
        parts += ["", f"## {_title(nb)}", "", f"`notebooks/workshop/{path.name}`"]
        for ex in exercises_of(nb, name=path.stem):
            parts += ["", f"### {ex['exercise']}", ""]
            parts += [
                _quote(ex["prompt"]),
                "",
                "**Solution · 参考答案**",
                "",
                _fence(ex["solution"]),
                "",
                f"**Checked against · 检查依据**: `{ex['expected']}`",
            ]
            if ex["hint_key"]:
                parts += [
                    "",
                    f"**Hint · 提示**: {label(ex['hint_key'], 'zh')} / {label(ex['hint_key'], 'en')}",
                ]
            for note in ex["teacher_notes"]:
                parts += ["", "**Trainer's note · 讲师提示**", "", _quote(note)]
    return "\n".join(parts) + "\n"


def _quote(markdown: str) -> str:
    return "\n".join("> " + ln if ln.strip() else ">" for ln in markdown.strip().splitlines())


def build_answer_key(src_dir: str | Path = WORKSHOP_DIR, out_path: str | Path = ANSWER_KEY) -> Path:
    """Write :func:`answer_key_markdown` to ``out_path`` (default ``docs/workshop-answer-key.md``).

    Parameters
    ----------
    src_dir : str or Path
        The workshop folder.
    out_path : str or Path
        The file.

    Returns
    -------
    Path
        The path written.
    """
    return _write_text(answer_key_markdown(src_dir), Path(out_path))


# ================================================================ glossary
# sec_, sum_, hl_: the report's section names, headline labels and highlights, not terms
GLOSSARY_SKIP_PREFIXES = ("ws_", "mask_", "sec_", "sum_", "hl_")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def glossary_markdown() -> str:
    """The zh/en glossary as markdown, from :func:`analysis.viz.labels.glossary` (the charts' label table).

    Terms only: labels with ``{placeholders}`` (chart titles, sentences), the
    workshop's own messages and hints (``ws_*``, ``mask_*``) are left out; labels
    with the same Chinese and English text are one row listing all their keys.
    Sorted by the English term.

    Returns
    -------
    str
    """
    g = glossary()
    g = g[~g["key"].str.startswith(GLOSSARY_SKIP_PREFIXES)]
    g = g[~(g["zh"].str.contains("{", regex=False) | g["en"].str.contains("{", regex=False))]
    g = g.assign(note=g["note"].fillna("").astype(str))
    terms = (
        g.groupby(["en", "zh"], sort=False)
        .agg(
            keys=("key", lambda s: ", ".join(f"`{k}`" for k in sorted(s))),
            note=("note", lambda s: "; ".join(sorted({n for n in s if n}))),
        )
        .reset_index()
    )
    terms = terms.assign(_en=terms["en"].str.casefold()).sort_values(["_en", "zh"], kind="stable")
    has_notes = terms["note"].str.len().gt(0).any()
    lines = [
        "# 术语表 · Glossary",
        "",
        f"{len(terms)} terms. Generated by `ccm workshop build` (`analysis.tools.workshop.glossary_markdown`) from the label "
        "table in `src/analysis/viz/labels/*.yaml`, the same table every chart and table title uses: change a term "
        "there, then rebuild. Chart titles and sentences (labels with placeholders) are left out.",
        "",
        f"共 {len(terms)} 个术语，由 `ccm workshop build` 根据图表所用的同一张标签表（`src/analysis/viz/labels/*.yaml`）生成；"
        "修改术语请改标签表后重新生成。",
        "",
        "| English | 中文 | key |" + (" note |" if has_notes else ""),
        "|---|---|---|" + ("---|" if has_notes else ""),
    ]
    for row in terms.itertuples(index=False):
        cells = [_cell(row.en), _cell(row.zh), row.keys] + ([_cell(row.note)] if has_notes else [])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_glossary(path: str | Path = GLOSSARY) -> Path:
    """Write :func:`glossary_markdown` to ``path`` (default ``docs/glossary.md``).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    Path
        The path written.
    """
    return _write_text(glossary_markdown(), Path(path))


# ================================================================ the command
def build(
    src_dir: str | Path = WORKSHOP_DIR,
    *,
    out_dir: str | Path | None = None,
    key_path: str | Path = ANSWER_KEY,
    glossary_path: str | Path | None = GLOSSARY,
) -> list[Path]:
    """``ccm workshop build``: student notebooks, answer key and glossary.

    Parameters
    ----------
    src_dir : str or Path
        The workshop folder.
    out_dir : str or Path, optional
        Where the student notebooks go.
    key_path : str or Path
        The answer key's file.
    glossary_path : str or Path, optional
        The glossary's file (None: not written).

    Returns
    -------
    list of Path
        The paths written.
    """
    paths = build_student(src_dir, out_dir)
    paths.append(build_answer_key(src_dir, key_path))
    if glossary_path is not None:
        paths.append(write_glossary(glossary_path))
    return paths


def run_workshop_notebook(
    name: str,
    out_dir: str | Path,
    *,
    data_dir: str | Path = "",
    lang: str = "zh",
    student: bool = False,
    nb_dir: str | Path | None = None,
) -> dict:
    """Execute one workshop notebook through papermill and return what its checks recorded.

    Parameters
    ----------
    name : str
        Notebook name (``01_why_classify``).
    out_dir : path
        Where the executed notebook is written.
    data_dir, lang
        The notebook's parameters ("" = the sample company).
    student : bool
        Run the student version (``student/``) instead of the teacher version.
    nb_dir : path, optional
        Folder of the notebook; overrides ``student``.

    Returns
    -------
    dict
        ``error`` (None when every cell ran), ``seconds``, ``checks`` and
        ``summary`` (see :func:`notebook_results`).
    """
    from analysis.report.runner import execute

    nb_dir = Path(nb_dir) if nb_dir is not None else (STUDENT_DIR if student else WORKSHOP_DIR)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = execute(name, Path(out_dir), {"data_dir": str(data_dir), "lang": lang}, nb_dir=nb_dir)
    target = Path(out_dir) / f"{name}.ipynb"
    found = notebook_results(target) if target.exists() else {"checks": [], "summary": None}
    return {"error": res.error, "seconds": time.perf_counter() - t0, **found}
