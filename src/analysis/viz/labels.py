"""The zh/en label table: one source of truth for every term on charts, tables and the glossary.

Labels live in ``analysis/viz/labels/*.yaml`` (one file per analysis, merged here),
each entry ``key: {zh: 中文, en: English}``.  A table column's entry may also carry its
display format, ``fmt:`` (one of :data:`analysis.viz.tables.FORMATS`: money, pct, int, dec,
dec3, pts, date, text, label, ``code:<kind>`` ...; the index page's headline numbers use the
same names), so that a column's header and its format live in one place::

    sales: {zh: 销售额, en: Sales, fmt: money}
    cls_tier: {zh: 客户层级, en: Tier, fmt: "code:tier"}

A column's entry is found by :func:`column_key`: the key ``<prefix><column>`` for each
prefix asked for (a page's ``label_prefix``: ``cls_`` for the classification tables,
``churn_col_`` for the churn tables ...), then the column name itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from analysis.config import LANGS

_DIR = Path(__file__).with_name("labels")


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for path in sorted(_DIR.glob("*.yaml")):
        for key, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in table:
                raise ValueError(f"label '{key}' defined twice (second time in {path.name})")
            if not isinstance(entry, dict) or set(entry) < set(LANGS):
                raise ValueError(f"label '{key}' in {path.name} needs both zh and en")
            table[key] = entry
    return table


def check_lang(lang: str) -> str:
    """``lang`` when it is a report language; ValueError naming the valid ones otherwise.

    Parameters
    ----------
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    if lang not in LANGS:
        raise ValueError(f"unknown lang {lang!r}; expected one of {', '.join(LANGS)}")
    return lang


def label(key: str, lang: str = "zh", **fmt) -> str:
    """The label for ``key`` in ``lang``; ``fmt`` fills ``{placeholders}``.

    Parameters
    ----------
    key : str
        Label key.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    fmt
        Values of the placeholders.

    Returns
    -------
    str
    """
    check_lang(lang)
    try:
        text = _table()[key][lang]
    except KeyError:
        raise KeyError(f"no label '{key}'; add it to a file in {_DIR}") from None
    return text.format(**fmt) if fmt else text


def label_or(key: str, default: str, lang: str = "zh") -> str:
    """The label for ``key`` in ``lang``, or ``default`` when there is none.

    Parameters
    ----------
    key : str
        Label key.
    default : str
        Text to use when ``key`` has no label.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The label or ``default``.
    """
    try:
        return label(key, lang)
    except KeyError:
        return default


def label_entry(key: str) -> dict | None:
    """The whole entry of a label: ``zh``, ``en`` and, where given, ``fmt``, ``hide``, ``note``.

    Parameters
    ----------
    key : str
        Label key.

    Returns
    -------
    dict or None
        A copy of the entry, or None when there is no label ``key``.
    """
    entry = _table().get(key)
    return None if entry is None else dict(entry)


def label_keys() -> list[str]:
    """Every label key, in the order of the label files.

    Returns
    -------
    list of str
        The keys.
    """
    return list(_table())


def labels_for(keys, lang: str = "zh") -> dict[str, str]:
    """Map each key to its label (handy for renaming columns or categories).

    Parameters
    ----------
    keys : iterable of str
        Label keys.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    dict of str to str
    """
    return {k: label(k, lang) for k in keys}


def column_labels(columns, lang: str) -> list[str]:
    """Header texts: the label of each column that is a label key, else the column name.

    Parameters
    ----------
    columns : iterable
        Column names.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    list of str
    """
    table = _table()
    return [table[c][lang] if isinstance(c, str) and c in table else str(c) for c in columns]


def relabel(values: pd.Series, lang: str) -> pd.Series:
    """Replace label keys in a Series by their text; other values are kept.

    Parameters
    ----------
    values : Series
        Values, some of them label keys.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    Series
    """
    table = _table()
    return values.map(lambda v: table[v][lang] if isinstance(v, str) and v in table else v)


def column_key(column, prefixes: str | Sequence[str] = ()) -> str | None:
    """The label key of a table column: ``<prefix><column>`` for the first prefix that has one,
    else ``column`` itself when it is a label, else None.

    Parameters
    ----------
    column : object
        The column name.
    prefixes : str or sequence of str
        Prefixes tried first.

    Returns
    -------
    str or None

    >>> column_key("count", "cls_"), column_key("count"), column_key("no such column")
    ('cls_count', 'count', None)
    """
    table = _table()
    for key in _candidate_keys(column, prefixes):
        if key in table:
            return key
    return None


def column_format(column, prefixes: str | Sequence[str] = ()) -> str | None:
    """The ``fmt`` of a table column: from the first of its candidate entries (see
    :func:`column_key`) that gives one, else None.

    Parameters
    ----------
    column : object
        The column name.
    prefixes : str or sequence of str
        Prefixes tried first.

    Returns
    -------
    str or None

    >>> column_format("sales"), column_format("cls_tier"), column_format("no such column")
    ('money', 'code:tier', None)
    """
    table = _table()
    for key in _candidate_keys(column, prefixes):
        fmt = table.get(key, {}).get("fmt")
        if fmt:
            return fmt
    return None


def _candidate_keys(column, prefixes: str | Sequence[str]) -> list[str]:
    name = str(column)
    prefixes = (prefixes,) if isinstance(prefixes, str) else tuple(prefixes)
    return [f"{p}{name}" for p in prefixes if p] + [name]


def glossary() -> pd.DataFrame:
    """Every label as a row: key, zh, en (and a note where given).

    Returns
    -------
    DataFrame
        key, zh, en and note.
    """
    rows = [
        {"key": k, "zh": v["zh"], "en": v["en"], "note": v.get("note", "")}
        for k, v in _table().items()
    ]
    return pd.DataFrame(rows, columns=["key", "zh", "en", "note"])
