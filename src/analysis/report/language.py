"""One language per report page: the narrative cells' tags, and a measure of a page's language.

Every markdown (narrative) cell of a report notebook exists twice: the English cell
tagged ``lang-en``, immediately followed by its Chinese cell tagged ``lang-zh``.  An
analyst in JupyterLab sees both; the report runner drops the other language's cells
at export (nbconvert's TagRemovePreprocessor, :func:`tags_to_remove`).

The measure (:func:`foreign_paragraphs`) reads a rendered page and returns the
paragraphs written in the other language:

- a paragraph is a ``<p>``, ``<li>`` (without paragraphs of its own), ``<h1>``-``<h6>``,
  ``<dt>``/``<dd>`` or ``<caption>``-free block of the page, outside tables, code
  (``<pre>``, ``<code>``), scripts and styles;
- formulas (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``) are removed first,
  and on a Chinese page parentheses (``(...)``, ``（...）``) too: an English term in
  parentheses in Chinese text is allowed;
- a Chinese page's paragraph is foreign when it holds more than ``max_latin`` Latin
  words (acronyms such as ABC, RFM, ROC AUC and single letters such as class codes
  are not counted);
- an English page's paragraph is foreign when it holds more CJK characters than Latin
  letters, parentheses included (mostly Chinese).
"""

from __future__ import annotations

import re

from analysis.config import LANGS

__all__ = [
    "LANG_TAG",
    "tags_to_remove",
    "notebook_language_problems",
    "narrative_paragraphs",
    "latin_words",
    "cjk_count",
    "is_foreign",
    "foreign_paragraphs",
]

#: the tag of a narrative cell in each language
LANG_TAG = {lang: f"lang-{lang}" for lang in LANGS}
#: Latin words allowed in a paragraph of a Chinese page (outside code, tables, formulas, parentheses)
MAX_LATIN_WORDS = 3

_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd")
_SKIP_ANCESTORS = {"table", "pre", "code", "script", "style", "svg", "math", "head"}
_DROP_INSIDE = ("code", "kbd", "samp", "script", "style", "math", "svg", "ul", "ol", "table")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+\$|\\\(.*?\\\)|\\\[.*?\\\]", re.S)
_PARENS = re.compile(r"\([^()]*\)|（[^（）]*）")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def tags_to_remove(lang: str) -> set[str]:
    """The cell tags an export in ``lang`` drops: every other language's narrative tag.

    Parameters
    ----------
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    set of str
    """
    if lang not in LANGS:
        raise ValueError(f"unknown lang {lang!r}; expected one of {', '.join(LANGS)}")
    return {tag for other, tag in LANG_TAG.items() if other != lang}


def notebook_language_problems(nb) -> list[str]:
    """What breaks the two-language convention in a notebook (empty when none).

    Every markdown cell is tagged ``lang-en`` or ``lang-zh`` (one of them), and each
    ``lang-en`` cell is directly followed by a ``lang-zh`` cell whose id is the English
    id + ``-zh`` (the anchor of a section in either language), so that no section
    exists in one language only.

    Parameters
    ----------
    nb : NotebookNode or dict
        The notebook (``cells`` with ``cell_type``, ``metadata.tags``, ``id``).

    Returns
    -------
    list of str
        One sentence per problem, naming the cell by its id and first line.
    """
    cells = list(nb["cells"])
    problems = []

    def name(i):
        c = cells[i]
        src = c.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        first = src.strip().splitlines()[0][:60] if src.strip() else ""
        return f"cell {i} ({c.get('id', '?')}: {first!r})"

    def lang_of(c):
        tags = set(c.get("metadata", {}).get("tags", []))
        found = [lang for lang, tag in LANG_TAG.items() if tag in tags]
        return found

    for i, c in enumerate(cells):
        if c.get("cell_type") != "markdown":
            continue
        found = lang_of(c)
        if len(found) != 1:
            what = "no language tag" if not found else f"two language tags {found}"
            problems.append(f"{name(i)} has {what} (expected lang-en or lang-zh)")
            continue
        if found == ["en"]:
            nxt = cells[i + 1] if i + 1 < len(cells) else None
            if nxt is None or nxt.get("cell_type") != "markdown" or lang_of(nxt) != ["zh"]:
                problems.append(
                    f"{name(i)} is English and not directly followed by its lang-zh cell"
                )
            elif c.get("id") and nxt.get("id") != f"{c['id']}-zh":
                problems.append(
                    f"{name(i + 1)} follows {c['id']!r}: its id should be {c['id'] + '-zh'!r}"
                )
        elif found == ["zh"]:
            prev = cells[i - 1] if i > 0 else None
            if prev is None or prev.get("cell_type") != "markdown" or lang_of(prev) != ["en"]:
                problems.append(
                    f"{name(i)} is Chinese and does not directly follow its lang-en cell"
                )
    return problems


def _text_of(el) -> str:
    import copy

    el = copy.copy(el)
    for inner in el.find_all(_DROP_INSIDE):  # a nested list counts through its own items
        inner.decompose()
    for anchor in el.find_all(class_="anchor-link"):  # a heading's ¶
        anchor.decompose()
    return " ".join(el.get_text(" ").split())


def narrative_paragraphs(html: str) -> list[str]:
    """The paragraphs of a rendered page, outside tables, code, scripts and styles.

    Headings and list items count as paragraphs; a list item made of paragraphs
    counts through them.  Formulas and parentheses are kept here (see
    :func:`is_foreign`).

    Parameters
    ----------
    html : str
        A rendered page.

    Returns
    -------
    list of str
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    out = []
    for el in soup.find_all(_BLOCKS):
        if any(p.name in _SKIP_ANCESTORS for p in el.parents):
            continue
        if el.name == "li" and el.find("p"):
            continue
        text = _text_of(el)
        if text:
            out.append(text)
    return out


def _strip(text: str) -> str:
    text = _MATH.sub(" ", text)
    while True:  # nested parentheses, innermost first
        stripped = _PARENS.sub(" ", text)
        if stripped == text:
            return text
        text = stripped


def latin_words(text: str) -> list[str]:
    """Latin words of ``text`` that count against a Chinese paragraph.

    Formulas and parentheses are removed first; acronyms (two or more capitals,
    such as ABC, RFM, AUC) and single letters (class codes A/B/C, V) are not words.

    Parameters
    ----------
    text : str
        A paragraph.

    Returns
    -------
    list of str

    >>> latin_words("按 ABC 分类（ABC analysis），V = $x \\\\cdot y$ 由 the sales team 决定")
    ['the', 'sales', 'team']
    """
    words = _WORD.findall(_strip(text))
    return [w for w in words if len(w) > 1 and not w.isupper()]


def cjk_count(text: str) -> int:
    """CJK characters of ``text`` outside formulas and parentheses.

    Parameters
    ----------
    text : str
        A paragraph.

    Returns
    -------
    int
    """
    return len(_CJK.findall(_strip(text)))


def is_foreign(text: str, lang: str, *, max_latin: int = MAX_LATIN_WORDS) -> bool:
    """Is this paragraph written in the other language than ``lang``?

    ``zh``: more than ``max_latin`` Latin words (:func:`latin_words`).
    ``en``: more CJK characters than Latin letters outside formulas (a Chinese term in
    parentheses weighs little against the English around it).

    Parameters
    ----------
    text : str
        A paragraph.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    max_latin : int
        Latin words a Chinese paragraph may hold.

    Returns
    -------
    bool
    """
    if lang == "zh":
        return len(latin_words(text)) > max_latin
    if lang == "en":  # Chinese terms in parentheses count: the paragraph is weighed whole
        plain = _MATH.sub(" ", text)
        letters = sum(len(w) for w in _WORD.findall(plain))
        return len(_CJK.findall(plain)) > letters
    raise ValueError(f"unknown lang {lang!r}; expected one of {', '.join(LANGS)}")


def foreign_paragraphs(html: str, lang: str, *, max_latin: int = MAX_LATIN_WORDS) -> list[str]:
    """The paragraphs of a rendered page written in the other language (see :func:`is_foreign`).

    Parameters
    ----------
    html : str
        A rendered report page.
    lang : {"zh", "en"}
        The page's language.
    max_latin : int
        Latin words allowed in a paragraph of a Chinese page.

    Returns
    -------
    list of str
        The foreign paragraphs, in page order.
    """
    return [p for p in narrative_paragraphs(html) if is_foreign(p, lang, max_latin=max_latin)]
