"""The workshop kit: exercise checks, teacher -> student build, answer key, glossary, and the notebooks."""

from __future__ import annotations

import ast
import math

import nbformat
import numpy as np
import pandas as pd
import papermill
import pytest

from analysis.classify.tags import load_tag_rules
from analysis.tools import workshop
from analysis.tools.workshop import MIME, Exercises, compare
from analysis.viz.labels import glossary, label

TEACHER = workshop.teacher_notebooks()
NAMES = [p.stem for p in TEACHER]


def status(answer, expected, **kw) -> str:
    return Exercises("t", lang="en").check("ex", answer, expected, **kw).status


# ------------------------------------------------------------------ checking answers
def test_the_workshop_has_the_seven_notebooks_of_the_learning_path():
    assert NAMES == [
        "01_why_classify",
        "02_abc_pyramid",
        "03_tags_classes",
        "04_product_mix_margins",
        "05_churn_risk",
        "06_programme_roi",
        "07_credit_limits",
    ]


@pytest.mark.parametrize(
    "answer, expected",
    [
        (0.7231, 0.72312),  # within the default relative tolerance of 0.1%
        (73_200, 73_200.0),
        (np.float64(0.5), 0.5),  # numpy scalars count as numbers
        (np.int64(46), 46),
        (np.bool_(True), True),
        (" Credit_Watch", "credit_watch"),  # text ignores case and surrounding spaces
        (["A", "A", "B", "C"], ("A", "A", "B", "C")),
        (pd.Series(["A", "B"]), ["A", "B"]),
        ({"A": 0.4, "B": 0.15}, {"A": 0.4, "B": 0.15}),
        (pd.Series({"A": 0.4, "B": 0.15}), {"A": 0.4, "B": 0.15}),
        (float("nan"), float("nan")),
    ],
)
def test_correct_answers(answer, expected):
    assert status(answer, expected) == "correct"


@pytest.mark.parametrize("answer", [None, ...])
def test_an_unanswered_exercise_says_so(answer):
    r = Exercises("t", lang="en").check("ex_x", answer, 1.0)
    assert r.status == "unanswered" and not r
    assert "Replace None" in r.message


@pytest.mark.parametrize(
    "answer, expected, reason_key",
    [
        (0.8, 0.72, "ws_reason_too_high"),
        (0.6, 0.72, "ws_reason_too_low"),
        (72, 0.72, "ws_reason_percent"),
        (-73_200, 73_200, "ws_reason_sign"),
        (float("nan"), 0.72, "ws_reason_nan"),
        ("0.72", 0.72, "ws_reason_type"),
        (True, 1, "ws_reason_type"),
        (pd.Series([0.72]), 0.72, "ws_reason_table"),
        (pd.DataFrame({"x": [1]}), 1, "ws_reason_table"),
        (False, True, "ws_reason_bool"),
        ("growth", "efficiency", "ws_reason_text"),
        (["A", "B"], ["A", "B", "C"], "ws_reason_length"),
        (["A", "C", "B"], ["A", "B", "C"], "ws_reason_item"),
        ("credit_watch", ["credit_watch"], "ws_reason_type"),
        ({"A": 0.4}, {"A": 0.4, "B": 0.15}, "ws_reason_keys"),
        ({"A": 0.4, "B": 0.2}, {"A": 0.4, "B": 0.15}, "ws_reason_key_value"),
    ],
)
def test_wrong_answers_get_the_reason_and_the_hint(answer, expected, reason_key):
    r = Exercises("t", lang="en").check("ex", answer, expected, hint_key="ws_hint_top20_share")
    assert r.status == "wrong" and not r
    reason = label(reason_key, "en").split("{")[0]
    assert reason in r.message
    assert r.message.endswith(label("ws_hint_top20_share", "en"))


def test_lists_as_sets_when_unordered():
    assert status(["b", "a"], ["a", "b"], unordered=True) == "correct"
    assert status(["b", "a"], {"a", "b"}) == "correct"
    assert status(["a"], ["a", "b"], unordered=True) == "wrong"
    assert status([], []) == "correct"


def test_a_failing_expected_value_or_a_strange_answer_never_raises():
    ex = Exercises("t", lang="zh")
    r = ex.check("ex_a", 1, lambda: 1 / 0)
    assert r.status == "invalid" and "ZeroDivisionError" in r.message

    class Weird:
        def __eq__(self, other):
            raise RuntimeError("no comparing me")

    assert ex.check("ex_b", Weird(), Weird()).status in ("wrong", "invalid")
    assert ex.check("ex_c", object(), 1).status == "wrong"


def test_messages_follow_the_language():
    zh = Exercises("t", lang="zh").check("ex", 1, 1)
    en = Exercises("t", lang="en").check("ex", 2, 1)
    assert str(zh) == "练习 ex: 正确 ✓"
    assert str(en).startswith("Exercise ex: not yet ✗")
    with pytest.raises(ValueError, match="unknown lang"):
        Exercises("t", lang="fr")


def test_results_render_in_a_notebook_and_stay_machine_readable():
    ex = Exercises("01_why_classify", lang="en")
    bundle = ex.check("ex_a", 0.5, 0.5)._repr_mimebundle_()
    assert bundle["text/markdown"].startswith("✅") and bundle[MIME] == {
        "kind": "check",
        "notebook": "01_why_classify",
        "exercise": "ex_a",
        "status": "correct",
        "message": "",
    }
    ex.check("ex_b", None, 1)
    ex.check("ex_c", 2, 1)
    ex.check("ex_a", 0.4, 0.5)  # re-running a check replaces its result
    progress = ex.summary().payload()
    assert (progress["total"], progress["correct"], progress["wrong"], progress["unanswered"]) == (
        3,
        0,
        2,
        1,
    )
    assert progress["todo"] == ["ex_a", "ex_b", "ex_c"]
    assert "3 exercises: 0 correct, 2 not yet right, 1 not answered" in str(ex.summary())


def test_compare_tolerances():
    compare(100.0, 100.05)  # 0.05% off: within 0.1%
    with pytest.raises(Exception, match=r"\S"):  # the check's own hint (a private class)
        compare(100.0, 100.5)
    compare(1e-9, 0.0)  # absolute tolerance near zero


# ------------------------------------------------------------------ teacher notebooks follow the conventions
@pytest.mark.parametrize("path", TEACHER, ids=NAMES)
def test_teacher_notebook_structure(path):
    nb = nbformat.read(str(path), as_version=4)
    first = nb.cells[0].source
    assert "时长 · Duration" in first and "学习目标 · Objectives" in first
    params = papermill.inspect_notebook(str(path))
    assert list(params) == ["data_dir", "lang"]
    assert all(p["help"] and p["inferred_type_name"] == "str" for p in params.values())
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert f'setup("workshop_{path.stem[:2]}"' in code and "ex.summary()" in code
    defined = [
        n for n in ast.walk(ast.parse(code)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    ]
    assert not defined, "functions belong in src/analysis"
    exercises = workshop.exercises_of(nb, name=path.stem)
    assert 2 <= len(exercises) <= 3
    for e in exercises:
        assert e["hint_key"] and label(e["hint_key"], "zh") and label(e["hint_key"], "en")
        assert "练习" in e["prompt"] and "Exercise" in e["prompt"]


def _nb(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(src, id=f"m{i}")
        if kind == "md"
        else nbformat.v4.new_code_cell(src, id=f"c{i}", metadata={"tags": [kind]} if kind else {})
        for i, (kind, src) in enumerate(cells)
    ]
    return nb


def test_conventions_are_enforced():
    with pytest.raises(ValueError, match="assigns no ans_"):
        workshop.exercises_of(_nb([("solution", "x = 1"), ("check", 'ex.check("e", x, 1)')]))
    with pytest.raises(ValueError, match="followed by a code cell tagged 'check'"):
        workshop.exercises_of(_nb([("solution", "ans_x = 1"), ("", "print(ans_x)")]))
    with pytest.raises(ValueError, match="does not check ans_y"):
        workshop.exercises_of(
            _nb([("solution", "ans_x = 1\nans_y = 2"), ("check", 'ex.check("e", ans_x, 1)')])
        )
    with pytest.raises(ValueError, match="later cells use tmp"):
        workshop.exercises_of(
            _nb(
                [
                    ("solution", "tmp = 3\nans_x = tmp"),
                    ("check", 'ex.check("e", ans_x, 3)'),
                    ("", "print(tmp)"),
                ]
            )
        )
    with pytest.raises(ValueError, match="used twice"):
        workshop.exercises_of(
            _nb(
                [
                    ("solution", "ans_x = 1"),
                    ("check", 'ex.check("e", ans_x, 1)'),
                    ("solution", "ans_y = 1"),
                    ("check", 'ex.check("e", ans_y, 1)'),
                ]
            )
        )


def test_student_version_blanks_solutions_and_drops_teacher_notes():
    teacher = _nb(
        [
            ("md", "# T"),
            ("md", "prompt"),
            ("solution", "tmp = 2\nans_x = tmp * 3"),
            ("check", 'ex.check("ex_x", ans_x, 6)'),
            ("", "ex.summary()"),
        ]
    )
    teacher.cells[1].metadata["tags"] = ["exercise"]
    teacher.cells.insert(
        2, nbformat.v4.new_markdown_cell("secret", id="t1", metadata={"tags": ["teacher"]})
    )
    teacher.cells[3].outputs = [nbformat.v4.new_output("stream", text="6")]
    before = nbformat.writes(teacher)
    student = workshop.student_notebook(teacher, name="99_x")
    assert nbformat.writes(teacher) == before, "the teacher notebook must not change"
    sources = [c.source for c in student.cells]
    assert "ans_x = None  # your answer · 你的答案" in sources
    assert not any("secret" in s or "tmp" in s for s in sources)
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    assert student.cells[1].id == "student-banner" and "99_x.ipynb" in student.cells[1].source
    nbformat.validate(student)


# ------------------------------------------------------------------ generated files are committed and reproducible
def test_student_notebooks_are_reproducible(tmp_path):
    built = workshop.build_student(workshop.WORKSHOP_DIR, tmp_path)
    assert [p.name for p in built] == [p.name for p in TEACHER]
    for p in built:
        committed = workshop.STUDENT_DIR / p.name
        assert committed.exists(), f"run `ccm workshop build`: {committed} is missing"
        assert p.read_bytes() == committed.read_bytes(), (
            f"{committed} is stale: run `ccm workshop build`"
        )
    assert sorted(x.name for x in workshop.STUDENT_DIR.glob("*.ipynb")) == [p.name for p in built]


def test_answer_key_is_reproducible(tmp_path):
    key = workshop.build_answer_key(workshop.WORKSHOP_DIR, tmp_path / "key.md")
    assert key.read_bytes() == workshop.ANSWER_KEY.read_bytes(), (
        "docs/workshop-answer-key.md is stale: run `ccm workshop build`"
    )
    text = key.read_text(encoding="utf-8")
    n = sum(
        len(workshop.exercises_of(nbformat.read(str(p), as_version=4), name=p.stem))
        for p in TEACHER
    )
    assert text.count("**Solution · 参考答案**") == n
    assert "ans_case1_value = (3_000 - 1_800) * 56 * 6 - 80_000 - 250_000" in text


def test_glossary_is_generated_from_the_label_table():
    assert workshop.glossary_markdown() == workshop.GLOSSARY.read_text(encoding="utf-8"), (
        "docs/glossary.md is stale (a label changed): run `ccm workshop build`"
    )


def test_glossary_lists_terms_not_sentences():
    text = workshop.glossary_markdown()
    assert "| Gross margin rate | 毛利率 |" in text
    assert "| Cross ratio | 交叉比率 | `cross_ratio` |" in text
    assert "{" not in text and "ws_hint" not in text
    g = glossary()
    terms = g[
        ~g["key"].str.startswith(workshop.GLOSSARY_SKIP_PREFIXES)
        & ~g["zh"].str.contains("{", regex=False)
        & ~g["en"].str.contains("{", regex=False)
    ]
    rows = [
        ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| English")
    ]
    assert len(rows) == len(terms.drop_duplicates(["zh", "en"]))


def test_rules_table_reads_the_tag_rules():
    rules = load_tag_rules()
    t = workshop.rules_table(rules, "zh")
    assert list(t["ws_rule_class"]) == [r["key"] for r in rules.classes]
    row = t.set_index("ws_rule_class").loc["credit_watch"]
    assert (
        row["ws_rule_all_of"] == "回款慢"
        and row["ws_rule_none_of"] == "回款及时"
        and math.isnan(row["ws_rule_min_any"])
    )
    assert (
        "Slow payer"
        in workshop.rules_table(rules, "en")
        .set_index("ws_rule_class")
        .loc["credit_watch", "ws_rule_all_of"]
    )


# ------------------------------------------------------------------ running the notebooks
@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_teacher_version_passes_every_check(name, sample_dir, tmp_path):
    res = workshop.run_workshop_notebook(name, tmp_path, data_dir=sample_dir, lang="zh")
    assert res["error"] is None, res["error"]
    summary = res["summary"]
    assert summary is not None and summary["total"] >= 2
    assert summary["correct"] == summary["total"], [
        c for c in res["checks"] if c["status"] != "correct"
    ]


@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_student_version_runs_and_reports_the_unanswered(name, sample_dir, tmp_path):
    res = workshop.run_workshop_notebook(
        name, tmp_path, data_dir=sample_dir, lang="en", student=True
    )
    assert res["error"] is None, res["error"]
    summary = res["summary"]
    assert summary["unanswered"] == summary["total"] >= 2 and summary["correct"] == 0
    assert all(
        c["status"] == "unanswered" and "Replace None" in c["message"] for c in res["checks"]
    )
