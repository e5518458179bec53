"""Data values shown as text: on report pages, in charts and in spreadsheets for staff.

Names, categories, channels and tags are data a firm typed in or received from its
customers.  Pages show them as text, never as markup (OWASP: output encoding for
HTML); charts draw them literally, never as matplotlib mathtext; tables written for
Excel keep them as text, never as formulas (OWASP: CSV injection).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "escape_html",
    "escape_markdown",
    "styler_label",
    "plain_text",
    "plain_labels",
    "neutralise_formula",
    "neutralise_formulas",
    "FORMULA_START",
    "NO_MATH_CLASS",
]

# A spreadsheet reads a cell beginning with one of these as a formula (OWASP, CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number ("-7", "+3.5", "-1e3") is read as that number, never as a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}()#+\-.!|~>$])")
# MathJax on a report page typesets $...$ in any text outside elements of these classes.
NO_MATH_CLASS = "tex2jax_ignore mathjax_ignore"


def escape_html(value) -> str:
    """``value`` as HTML text: ``<``, ``>``, ``&`` and quotes become entities.

    Parameters
    ----------
    value : object
        The value (as text).

    Returns
    -------
    str

    >>> escape_html('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(value), quote=True)


def escape_markdown(value) -> str:
    """``value`` as literal Markdown text: HTML escaped (Markdown renders raw HTML) and every
    Markdown punctuation mark backslash-escaped, so no link, emphasis or heading is formed.
    (A page's MathJax still sees ``$`` pairs: put the text in an element of class
    :data:`NO_MATH_CLASS`.)

    Parameters
    ----------
    value : object
        The value (as text).

    Returns
    -------
    str

    >>> escape_markdown("[x](javascript:alert(1)) <b>")
    '\\\\[x\\\\]\\\\(javascript:alert\\\\(1\\\\)\\\\) &lt;b&gt;'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))


def styler_label(value) -> str:
    """A header label for ``Styler.relabel_index``: HTML escaped, braces doubled (pandas
    passes each label through ``str.format``, so ``{0}`` would be replaced).

    Parameters
    ----------
    value : object
        The value (as text).

    Returns
    -------
    str
    """
    return escape_html(value).replace("{", "{{").replace("}", "}}")


def plain_text(value) -> str:
    """``value`` as a matplotlib label drawn literally: ``$`` is escaped so that a name such
    as ``$\\alert$`` is not parsed as mathtext (which would fail to draw).

    Parameters
    ----------
    value : object
        The value (as text).

    Returns
    -------
    str
    """
    return str(value).replace("$", r"\$")


def plain_labels(values: Iterable) -> list[str]:
    """:func:`plain_text` of each value (tick labels, annotations).

    Parameters
    ----------
    values : iterable
        The values.

    Returns
    -------
    list of str
    """
    return [plain_text(v) for v in values]


def neutralise_formula(value):
    """Prefix ``'`` to a text cell that a spreadsheet would evaluate (``=``, ``+``, ``-``, ``@``,
    tab or CR first); numbers, plain signed numbers in text, and other text are returned as they are.

    Parameters
    ----------
    value : object
        A cell value.

    Returns
    -------
    object
        The value, prefixed with ``'`` when needed.

    >>> neutralise_formula('=HYPERLINK("http://x","y")'), neutralise_formula("-7"), neutralise_formula("00123")
    ('\\'=HYPERLINK("http://x","y")', '-7', '00123')
    """
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _is_text(s: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(s.dtype)
        or pd.api.types.is_string_dtype(s.dtype)
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` for a CSV that people open in Excel: every text cell and header that
    would be read as a formula is prefixed with ``'`` (:func:`neutralise_formula`).

    Numeric columns are left alone, so real negative amounts stay numbers; text such as the
    id ``00123`` is unchanged.

    Parameters
    ----------
    df : DataFrame
        The table.

    Returns
    -------
    DataFrame
        The neutralised copy.
    """
    out = df.copy()
    for i in range(df.shape[1]):  # by position: duplicate or non-string headers are fine
        col = df.iloc[:, i]
        if _is_text(col):
            # only cells whose text starts like a formula go through the rule (vectorised test:
            # a roster of 500,000 customers has millions of text cells)
            first = col.astype("string").str[:1]
            risky = first.isin(list(FORMULA_START)).fillna(False).to_numpy(dtype=bool)
            fixed = col.astype("object")
            if risky.any():
                # set in a numpy copy: a Series setitem would turn the numbers -1 into -1.0
                values = fixed.to_numpy(copy=True)
                for k in np.flatnonzero(risky):
                    values[k] = neutralise_formula(values[k])
                fixed = pd.Series(values, index=col.index, name=col.name, dtype=object)
            out.isetitem(i, fixed)
    out.columns = df.columns.map(neutralise_formula)
    return out
