"""The documents users read first exist in English and Chinese and state the same facts.

Pairs: README.md / README.zh-CN.md, docs/data-format.md / docs/data-format.zh-CN.md,
docs/workshop.md / docs/workshop.zh-CN.md.  The prose is written in each language; everything a
reader types or looks up must be identical, so the two cannot drift:

- fenced code blocks: the same blocks in the same order, equal once ``#`` comments are removed
  (comments may be translated); a block without a language (a folder listing) compares the first
  word of each line;
- every ``backticked`` identifier (commands, files, columns, parameters, settings) of one appears
  in the other;
- tables: the same tables in the same order, row by row the same first cell and the same
  backticked identifiers in the same order;
- numbers of two or more digits (figures, thresholds, times, years);
- link and image targets (a ``*.zh-CN.md`` twin counts as its English original).

When README.md (or an English doc) changes, the Chinese twin must follow: the failure names what
is missing on which side.
"""

from __future__ import annotations

import re

import pytest

from analysis.config import PROJECT_ROOT

PAIRS = [
    ("README.md", "README.zh-CN.md"),
    ("docs/data-format.md", "docs/data-format.zh-CN.md"),
    ("docs/workshop.md", "docs/workshop.zh-CN.md"),
]

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+(?:\n[^`\n]+)*)`")  # a code span may wrap a line
NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d(?:[\d,]*\d)?(?:\.\d+)?")  # CJK may touch a number
LINK = re.compile(r"\]\(([^)\s]+)\)")
TABLE_ROW = re.compile(r"^\|(.*)\|[ \t]*$")
SEPARATOR = re.compile(r"^\|[\s:|-]+\|[ \t]*$")


def _read(rel: str) -> str:
    return (PROJECT_ROOT / rel).read_text(encoding="utf-8")


def code_blocks(text: str) -> list[tuple[str, list[str]]]:
    """Fenced code blocks as (language, normalised lines): comments dropped, blank lines skipped.

    A block without a language (a folder listing, with a description after each path) keeps the
    first word of each line.
    """
    blocks = []
    for lang, body in FENCE.findall(text):
        lang = lang.strip()
        lines = []
        for line in body.splitlines():
            if lang:
                line = re.sub(r"(^|\s)#.*$", "", line)
            else:
                line = line.split()[0] if line.split() else ""
            line = line.rstrip()
            if line.strip():
                lines.append(line)
        blocks.append((lang, lines))
    return blocks


def _prose(text: str) -> str:
    return FENCE.sub("", text)


def inline_code(text: str) -> list[str]:
    """Inline ``code`` spans in order, a wrapped span joined with one space (as Markdown shows it)."""
    return [" ".join(span.split()) for span in INLINE.findall(text)]


def identifiers(text: str) -> set[str]:
    """Every inline ``code`` span outside fenced blocks."""
    return set(inline_code(_prose(text)))


def numbers(text: str) -> set[str]:
    """Numbers of two or more digits in the prose, tables and inline code (not in fenced blocks)."""
    return {n for n in NUMBER.findall(_prose(text)) if sum(c.isdigit() for c in n) >= 2}


def link_targets(text: str) -> set[str]:
    return {t.replace(".zh-CN.md", ".md") for t in LINK.findall(_prose(text))}


def tables(text: str) -> list[list[tuple[str, tuple[str, ...]]]]:
    """Markdown tables: per body row, (first cell, backticked identifiers in order)."""
    out, current = [], None
    for line in _prose(text).splitlines():
        m = TABLE_ROW.match(line)
        if not m:
            current = None
            continue
        if current is None:  # the header row starts a table; its words are translated
            current = []
            out.append(current)
            continue
        if SEPARATOR.match(line):
            continue
        cells = [c.strip() for c in m.group(1).split("|")]
        current.append((cells[0], tuple(inline_code(m.group(1)))))
    return out


def _diff(en: set, zh: set, en_name: str, zh_name: str, what: str) -> list[str]:
    msgs = []
    if en - zh:
        msgs.append(f"{zh_name} lacks {what} that {en_name} has: {sorted(en - zh)}")
    if zh - en:
        msgs.append(f"{en_name} lacks {what} that {zh_name} has: {sorted(zh - en)}")
    return msgs


@pytest.fixture(params=PAIRS, ids=[zh for _, zh in PAIRS])
def pair(request):
    en, zh = request.param
    return en, zh, _read(en), _read(zh)


def test_same_code_blocks(pair):
    en_name, zh_name, en, zh = pair
    a, b = code_blocks(en), code_blocks(zh)
    assert len(a) == len(b), f"{en_name} has {len(a)} code blocks, {zh_name} {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
        assert x == y, f"code block {i} differs between {en_name} and {zh_name}:\n{x}\n{y}"


def test_same_identifiers(pair):
    en_name, zh_name, en, zh = pair
    msgs = _diff(identifiers(en), identifiers(zh), en_name, zh_name, "`identifiers`")
    assert not msgs, "\n".join(msgs)


def test_same_numbers(pair):
    en_name, zh_name, en, zh = pair
    msgs = _diff(numbers(en), numbers(zh), en_name, zh_name, "numbers")
    assert not msgs, "\n".join(msgs)


def test_same_links(pair):
    en_name, zh_name, en, zh = pair
    msgs = _diff(link_targets(en), link_targets(zh), en_name, zh_name, "link targets")
    assert not msgs, "\n".join(msgs)


def test_same_tables(pair):
    en_name, zh_name, en, zh = pair
    a, b = tables(en), tables(zh)
    assert len(a) == len(b), f"{en_name} has {len(a)} tables, {zh_name} {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True), 1):
        assert len(x) == len(y), f"table {i}: {len(x)} rows in {en_name}, {len(y)} in {zh_name}"
        for j, (r, s) in enumerate(zip(x, y, strict=True), 1):
            assert r == s, f"table {i}, row {j}: {en_name} {r} but {zh_name} {s}"


def test_readmes_start_with_the_same_two_commands_and_link_each_other():
    en, zh = _read("README.md"), _read("README.zh-CN.md")
    assert en.startswith("```sh\nmake report\nmake test\n```"), (
        "README.md must open with the two commands"
    )
    assert zh.startswith(en[: en.index("```", 3) + 3]), (
        "README.zh-CN.md must open with the same block"
    )
    after = en[en.index("```", 3) + 3 :].lstrip("\n").splitlines()[0]
    assert "README.zh-CN.md" in after, (
        "README.md: the line under the two commands links README.zh-CN.md"
    )
    assert "](README.md)" in zh, "README.zh-CN.md links back to README.md"


def test_english_docs_link_their_chinese_twin():
    for en_name, zh_name in PAIRS[1:]:
        name = zh_name.rsplit("/", 1)[-1]
        head = "\n".join(_read(en_name).splitlines()[:5])
        assert f"({name})" in head, f"{en_name} links {name} near its top"


WORKSHOP_NOTEBOOK = re.compile(r"^0\d_[a-z_]+$")


def test_workshop_pair_same_notebooks_and_exercises_in_order():
    en, zh = _read("docs/workshop.md"), _read("docs/workshop.zh-CN.md")
    seq = lambda text, pat: [t for t in inline_code(_prose(text)) if re.match(pat, t)]  # noqa: E731
    assert seq(en, r"^ex_\w+$") == seq(zh, r"^ex_\w+$")
    notebooks = {p.stem for p in (PROJECT_ROOT / "notebooks" / "workshop").glob("0*.ipynb")}
    for text, name in ((en, "docs/workshop.md"), (zh, "docs/workshop.zh-CN.md")):
        named = {t for t in inline_code(_prose(text)) if WORKSHOP_NOTEBOOK.match(t)}
        assert named == notebooks, (
            f"{name}: notebooks {sorted(named)} but the kit has {sorted(notebooks)}"
        )
    agenda = lambda text: [  # noqa: E731
        cells[3]
        for line in text.splitlines()
        if re.match(r"^\| \d\d:\d\d \|", line)
        for cells in [[c.strip() for c in line.split("|")]]
    ]
    assert agenda(en) == agenda(zh), "the agenda's notebooks differ"


# -- the checks themselves must be able to fail -------------------------------------------


def test_checks_catch_drift():
    en = "```sh\nmake report  # build\n```\nUse `ccm check` on 2,000 rows; see [x](docs/a.md).\n"
    zh = (
        "```sh\nmake report  # 生成\n```\n用 `ccm check` 检查 2,000 行；见 [x](docs/a.zh-CN.md)。\n"
    )
    assert code_blocks(en) == code_blocks(zh)
    assert identifiers(en) == identifiers(zh) and numbers(en) == numbers(zh)
    assert link_targets(en) == link_targets(zh)
    assert code_blocks(en) != code_blocks(zh.replace("make report", "make reports"))
    assert identifiers(en) != identifiers(zh.replace("`ccm check`", "`ccm chek`"))
    assert numbers(en) != numbers(zh.replace("2,000", "2,500"))
    assert numbers("检查2,000行，共 1,200, 另 3.5 与 7") == {"2,000", "1,200", "3.5"}
    assert identifiers("run `pytest -m\n   notebook` now") == {"pytest -m notebook"}
    listing = "```\nsrc/   the package\ndocs/  文档\n```\n"
    assert code_blocks(listing) == [("", ["src/", "docs/"])]
    t_en = "| a | b |\n|---|---|\n| `x` | uses `y` |\n"
    t_zh = "| 甲 | 乙 |\n|---|---|\n| `x` | 用 `y` |\n"
    assert tables(t_en) == tables(t_zh) == [[("`x`", ("x", "y"))]]
    assert tables(t_en) != tables(t_zh.replace("`y`", "`z`"))
