"""docs/methods.md: every citation of it in the code, notebooks and docs resolves to one of its headings."""

from __future__ import annotations

import re
from pathlib import Path

from analysis.config import PROJECT_ROOT

METHODS = PROJECT_ROOT / "docs" / "methods.md"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _headings() -> dict[str, str]:
    heads = [
        ln[3:].strip()
        for ln in METHODS.read_text(encoding="utf-8").splitlines()
        if ln.startswith("## ")
    ]
    return {h: _slug(h) for h in heads}


def _citing_files():
    roots = [
        PROJECT_ROOT / "src",
        PROJECT_ROOT / "notebooks",
        PROJECT_ROOT / "docs",
        PROJECT_ROOT / "tests",
    ]
    for root in roots:
        for path in root.rglob("*"):
            if (
                path.suffix in {".py", ".ipynb", ".md", ".yaml"}
                and path not in (METHODS, Path(__file__))
                and "student" not in path.parts
            ):
                yield path


def test_slug_is_githubs():
    assert _slug("Case 1: growth through tags") == "case-1-growth-through-tags"
    assert _slug("ABC Pareto") == "abc-pareto"


def test_every_citation_of_methods_md_resolves():
    heads = _headings()
    anchors, names = set(heads.values()), set(heads)
    checked = 0
    for path in _citing_files():
        text = path.read_text(encoding="utf-8").replace(
            '\\n",\n    "', " "
        )  # notebook source lines joined
        for anchor in re.findall(r"docs/methods\.md#([\w\-]+)", text):
            assert anchor in anchors, f"{path.name}: docs/methods.md#{anchor} is not a heading"
            checked += 1
        for cited in re.findall(r"docs/methods\.md,\s*((?:\*[^*]+\*(?:,\s*|\s+and\s+)?)+)", text):
            for name in re.findall(r"\*([^*]+)\*", cited):
                assert name in names, f"{path.name}: docs/methods.md, *{name}* is not a heading"
                checked += 1
    assert checked >= 15


def test_every_report_page_is_covered():
    text = METHODS.read_text(encoding="utf-8")
    for page in (
        "Page 00",
        "Page 01",
        "Page 02",
        "Page 03",
        "Page 04",
        "Page 05",
        "Page 06",
        "Page 07",
    ):
        assert page in text, page
    for nb in (
        "01_why_classify",
        "02_abc_pyramid",
        "03_tags_classes",
        "04_product_mix_margins",
        "05_churn_risk",
        "06_programme_roi",
        "07_credit_limits",
    ):
        assert f"`{nb}`" in text, nb
