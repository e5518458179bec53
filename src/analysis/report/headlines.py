"""Headline numbers of summary.json, labelled and formatted in the report language (the index page).

Each number a page records has an entry in ``viz/labels/summary.yaml``::

    sum_sales: {zh: 本季度销售额, en: Sales this quarter, fmt: money}
    sum_08_value_forecast.customers: {zh: 预测的客户数, en: Customers forecast, fmt: int}
    sum_A.sales_share: {zh: A类客户销售额占比（近12个月）, en: Class A share of sales (12 months), fmt: pct}

``sum_<page>.<path>`` (a page's own meaning of a key) wins over ``sum_<path>``; a path
reaches into a nested record (``A.sales_share``).  ``fmt`` is one of :data:`FORMATS`;
``hide: true`` keeps a labelled entry off the index.  The index shows, for each page, its
top-level numbers in the order the page records them, each followed by the nested numbers
that have an entry; nothing without a label is shown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from analysis.viz.labels import check_lang, label_entry, label_keys, label_or

__all__ = [
    "FORMATS",
    "NOT_SHOWN",
    "summary_entry",
    "fmt_value",
    "fmt_money",
    "headline_items",
    "headlines",
    "unlabelled_keys",
]

#: formats of a summary entry (``label:<prefix>`` names the label ``<prefix><value>``)
FORMATS = (
    "money",
    "pct",
    "pts",
    "change",
    "int",
    "dec",
    "dec1",
    "dec3",
    "sdec3",
    "days",
    "date",
    "bool",
    "text",
    "label",
    "label:<prefix>",
)
#: keys of a page's record that are not headline numbers
NOT_SHOWN = ("quarter", "skipped_sections", "not_computed")
_MISSING = "–"
PREFIX = "sum_"


def summary_entry(page: str, path: str) -> dict | None:
    """The label entry of a summary number: ``sum_<page>.<path>``, else ``sum_<path>``, else None.

    Parameters
    ----------
    page : str
        The notebook name, e.g. ``"08_value_forecast"``.
    path : str
        The key, or a dotted path into a nested record (``"A.sales_share"``).

    Returns
    -------
    dict or None
        ``{"zh", "en", "fmt"?, "hide"?, "key"}`` (``key`` is the label key found).
    """
    for key in (f"{PREFIX}{page}.{path}", f"{PREFIX}{path}"):
        entry = label_entry(key)
        if entry is not None:
            return {**entry, "key": key}
    return None


def _no_value(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_money(x, lang: str) -> str:
    """An amount in CNY: ``zh`` in 万元 from 10,000 (``1,229.3万元``), else 元; ``en`` ``¥12,293,164``.

    Parameters
    ----------
    x : float
        The amount.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    if _no_value(x):
        return _MISSING
    sign = "-" if x < 0 else ""
    a = abs(float(x))
    if lang == "zh":
        if a >= 1e4:
            return f"{sign}{a / 1e4:,.1f}万元"
        return f"{sign}{a:,.0f}元"
    return f"{sign}¥{a:,.0f}"


def fmt_value(value, fmt: str | None, lang: str) -> str:
    """A summary value as text in ``lang`` by its format (see :data:`FORMATS`).

    Parameters
    ----------
    value : object
        A summary value.
    fmt : str or None
        Its format (:data:`FORMATS`).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str

    >>> fmt_value(12293164.01, "money", "zh"), fmt_value(0.0124, "pts", "zh"), fmt_value(True, "bool", "en")
    ('1,229.3万元', '+1.2个百分点', '✓')
    """
    check_lang(lang)
    if isinstance(value, bool) or fmt == "bool":
        return _MISSING if value is None else ("✓" if value else "✗")
    if _no_value(value):
        return _MISSING
    if fmt == "money":
        return fmt_money(value, lang)
    if fmt == "pct":
        return f"{value * 100:.1f}%"
    if fmt == "pts":
        return f"{value * 100:+.1f}" + ("个百分点" if lang == "zh" else " pts")
    if fmt == "change":
        return f"{value * 100:+.1f}%"
    if fmt == "int":
        return f"{value:,.0f}"
    if fmt == "dec":
        return f"{value:,.2f}"
    if fmt == "dec1":
        return f"{value:,.1f}"
    if fmt == "dec3":
        return f"{value:.3f}"
    if fmt == "sdec3":
        return f"{value:+.3f}"
    if fmt == "days":
        return f"{value:,.0f} 天" if lang == "zh" else f"{value:,.0f} days"
    if fmt == "date":
        return str(value)[:10]
    if fmt == "label":
        return label_or(str(value), str(value), lang)
    if fmt and fmt.startswith("label:"):
        return label_or(f"{fmt[6:]}{value}", str(value), lang)
    if isinstance(value, int | float) and fmt in (None, "text"):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"
    return str(value)


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, bool | int | float | str)


def _nested_paths(page: str, key: str) -> list[str]:
    """The labelled paths under ``key`` (``sum_<key>.<...>`` or ``sum_<page>.<key>.<...>``), in file order."""
    out = []
    for prefix in (f"{PREFIX}{page}.{key}.", f"{PREFIX}{key}."):
        out += [k[len(prefix) - len(key) - 1 :] for k in label_keys() if k.startswith(prefix)]
    return list(dict.fromkeys(out))


def _get(values: Mapping, path: str):
    v = values
    for part in path.split("."):
        if not isinstance(v, Mapping) or part not in v:
            return None
        v = v[part]
    return v


def headline_items(page: str, values: Mapping) -> list[tuple[str, object, dict]]:
    """What the index shows of a page's record: ``(path, value, entry)`` in the record's order.

    Top-level numbers with a visible entry, each followed by the labelled numbers nested
    under it that the page recorded.  A number without an entry is not shown (see
    :func:`unlabelled_keys`).

    Parameters
    ----------
    page : str
        The notebook name.
    values : mapping
        A page's summary record.

    Returns
    -------
    list of tuple
        ``(path, value, entry)`` per number shown.
    """
    items = []
    for key, value in values.items():
        if key in NOT_SHOWN:
            continue
        entry = summary_entry(page, key)
        if _is_scalar(value):
            if entry and not entry.get("hide") and value is not None:
                items.append((key, value, entry))
            continue
        if isinstance(value, Mapping):
            for path in _nested_paths(page, key):
                v = _get(values, path)
                sub = summary_entry(page, path)
                if _is_scalar(v) and v is not None and sub and not sub.get("hide"):
                    items.append((path, v, sub))
    return items


def headlines(page: str, values: Mapping, lang: str) -> list[tuple[str, str]]:
    """The index rows of a page: ``(label, formatted value)`` in ``lang`` (see :func:`headline_items`).

    Parameters
    ----------
    page : str
        The notebook name.
    values : mapping
        A page's summary record.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    list of tuple of (str, str)
    """
    return [
        (entry[lang], fmt_value(v, entry.get("fmt"), lang))
        for _, v, entry in headline_items(page, values)
    ]


def unlabelled_keys(summary: Mapping) -> list[str]:
    """``page/key`` of every number the index could show without a label in both languages.

    Every top-level key of each page's record (except :data:`NOT_SHOWN`) needs an entry
    (``hide: true`` is allowed); every nested path the index shows needs one too.

    Parameters
    ----------
    summary : mapping
        The report's summary.json (page -> record).

    Returns
    -------
    list of str
    """
    missing = []
    for page, values in summary.items():
        if not isinstance(values, Mapping):
            continue
        for key in values:
            if key in NOT_SHOWN:
                continue
            entry = summary_entry(page, key)
            if not entry or not all(entry.get(lang) for lang in ("zh", "en")):
                missing.append(f"{page}/{key}")
        for path, _, entry in headline_items(page, values):
            if not all(entry.get(lang) for lang in ("zh", "en")):
                missing.append(f"{page}/{path}")
            if entry.get("fmt") and not _known_format(entry["fmt"]):
                missing.append(f"{page}/{path} (unknown fmt {entry['fmt']!r})")
    return missing


def _known_format(fmt: str) -> bool:
    return fmt in FORMATS or (fmt.startswith("label:") and len(fmt) > 6)
