"""The one table renderer of the report pages: :func:`show`.

A notebook cell makes one analysis call and shows its result::

    credit_mix = credit_sales_summary(credit)
    ctx.show(credit_mix)        # analysis.report.context.ReportContext.show

Headers and number formats come from the label files (``viz/labels/*.yaml``): a column's
entry gives its zh/en header and its ``fmt`` (:data:`FORMATS`)::

    sales: {zh: 销售额, en: Sales, fmt: money}
    cls_tier: {zh: 客户层级, en: Tier, fmt: "code:tier"}

A column without a label keeps its name; a column without a ``fmt`` is shown by its type
(whole numbers as ``int``, other numbers as ``dec``, dates as ``date``, the rest as text).

Every value, header and the caption is HTML-escaped and the page's MathJax skips the table
(:mod:`analysis.escaping`): customer names are shown as text, never run as markup.

Long tables (more than :data:`INTERACTIVE_ROWS` rows, or ``interactive=True``) are
interactive on the HTML page (sort, search, page; itables in its offline mode, the
DataTables library embedded in the page once, no network needed).  The same output carries
a static copy of the top ``max_rows`` rows for print: the interactive table sits in an element
of class ``ccm-screen-only`` (hidden in print), the static one in ``ccm-print-only`` (hidden on
screen); the output brings the CSS for both classes.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.escaping import NO_MATH_CLASS, escape_html, styler_label
from analysis.report.kernel import per_page
from analysis.viz.labels import check_lang, column_format, column_key, label, label_or, relabel
from analysis.viz.style import fmt_cny, fmt_int, fmt_pct

__all__ = [
    "FORMATS",
    "INTERACTIVE_ROWS",
    "PRINT_ROWS",
    "PAGE_MAX_ROWS",
    "SCREEN_CLASS",
    "PRINT_CLASS",
    "Table",
    "show",
    "formatted",
    "labelled",
    "fmt_dec",
    "fmt_dec3",
    "fmt_pts",
    "fmt_date",
]

#: tables longer than this are interactive on the HTML page (sort, search, page)
INTERACTIVE_ROWS = 15
#: rows of the static (print) copy of an interactive table, unless ``max_rows`` says otherwise
PRINT_ROWS = 20
#: at most this many rows go into a page (its interactive copy or a static table): a longer
#: table is cut with a note, its full list being the staff file (500,000 customers would
#: put hundreds of MB into one HTML page and take minutes to format)
PAGE_MAX_ROWS = 5_000
#: the print/screen contract of the report pages (docs: notes on the PDF)
SCREEN_CLASS = "ccm-screen-only"
PRINT_CLASS = "ccm-print-only"
_PRINT_CSS = (
    f'<style id="ccm-print-screen">@media screen {{ .{PRINT_CLASS} {{ display: none !important; }} }}'
    f" @media print {{ .{SCREEN_CLASS} {{ display: none !important; }} }}</style>"
)
_MISSING = "–"
_RIGHT = {
    "money",
    "pct",
    "int",
    "dec",
    "dec1",
    "dec3",
    "sdec3",
    "pts",
    "change",
    "days",
}  # right-aligned on the interactive table


def _missing(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):  # lists, arrays: not a missing value
        return False


def fmt_dec(x, decimals: int = 2) -> str:
    """1234.5678 -> '1,234.57'; NaN -> '–'.

    Parameters
    ----------
    x : float
        The number.
    decimals : int
        Decimal places shown.

    Returns
    -------
    str
    """
    return _MISSING if _missing(x) else f"{x:,.{decimals}f}"


def fmt_dec3(x) -> str:
    """A small ratio or score with enough decimals to rank by: 0.01234 -> '0.012'; NaN -> '–'.

    Parameters
    ----------
    x : float
        The number.

    Returns
    -------
    str
    """
    return fmt_dec(x, 3)


def fmt_pts(x) -> str:
    """A share difference as percentage points: 0.012 -> '+1.2 pt'; NaN -> '–'.

    Parameters
    ----------
    x : float
        A share difference.

    Returns
    -------
    str
    """
    return _MISSING if _missing(x) else f"{x * 100:+.1f} pt"


def fmt_date(x) -> str:
    """A date as 'YYYY-MM-DD'; text is kept; NaT -> '–'.

    Parameters
    ----------
    x : date-like or str
        The date.

    Returns
    -------
    str
    """
    if _missing(x):
        return _MISSING
    return f"{pd.Timestamp(x):%Y-%m-%d}" if not isinstance(x, str) else x


def _fmt_text(x) -> str:
    return _MISSING if _missing(x) else str(x)


def _number(spec: str) -> Callable:
    return lambda x: _MISSING if _missing(x) else format(x, spec)


_NUMBER_FORMATS: dict[str, Callable] = {
    "money": fmt_cny,  # ¥ with thousands separators, no decimals (both languages)
    "pct": fmt_pct,  # 0.1234 -> 12.3%
    "int": fmt_int,  # thousands separators
    "dec": fmt_dec,  # two decimals
    "dec1": _number(",.1f"),  # one decimal
    "dec3": fmt_dec3,  # three decimals (AUCs, Brier scores, small ratios)
    "sdec3": _number("+.3f"),  # a signed difference of such numbers
    "pts": fmt_pts,  # percentage points, signed
    "change": lambda x: _MISSING if _missing(x) else f"{x * 100:+.1f}%",  # a relative change
    "bool": lambda x: _MISSING if _missing(x) else ("✓" if x else "✗"),
    "date": fmt_date,
    "text": _fmt_text,
}
_DAYS = {"zh": "{:,.0f} 天", "en": "{:,.0f} days"}
#: the formats a label entry's ``fmt`` may name (the index page's headline numbers use the same
#: names, :mod:`analysis.report.headlines`): ``days`` counts days in the page language;
#: ``label`` shows a value that is a label key as its label, ``label:<prefix>`` the label
#: ``<prefix><value>``; ``code:<kind>`` shows a class code as the name of label
#: ``cls_<kind>_<code>`` (e.g. ``code:tier``)
FORMATS = (*_NUMBER_FORMATS, "days", "label", "label:<prefix>", "code:<kind>")


def _check_format(fmt: str, column, key: str | None) -> str:
    known = fmt in _NUMBER_FORMATS or fmt in ("days", "label")
    if known or (fmt.startswith(("code:", "label:")) and fmt.partition(":")[2]):
        return fmt
    where = f"label '{key}'" if key else "its label"
    raise ValueError(
        f"column '{column}': unknown fmt {fmt!r} in {where}; expected one of {', '.join(FORMATS)}"
    )


def _auto_format(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "text"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "int"
    if pd.api.types.is_float_dtype(s.dtype):
        return "dec"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date"
    return "text"


def _code_name(kind: str, code, lang: str) -> str:
    if _missing(code):
        return _MISSING
    return label_or(f"cls_{kind}_{code}", str(code), lang)


def _format_column(s: pd.Series, fmt: str, lang: str) -> pd.Series:
    if fmt.startswith("code:"):
        kind = fmt[5:]
        return s.map(lambda v: _code_name(kind, v, lang)).astype("object")
    if fmt == "label":
        return relabel(s, lang).map(_fmt_text).astype("object")
    if fmt.startswith("label:"):
        prefix = fmt[6:]
        return s.map(
            lambda v: _fmt_text(v) if _missing(v) else label_or(f"{prefix}{v}", str(v), lang)
        )
    if fmt == "days":
        return s.map(lambda v: _MISSING if _missing(v) else _DAYS[lang].format(v)).astype("object")
    return s.map(_NUMBER_FORMATS[fmt]).astype("object")


def _as_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A named index becomes columns (shown, escaped and labelled like them); an unnamed one
    (row numbers, left over from sorting or filtering) is not shown."""
    if all(name is None for name in df.index.names):
        return df.reset_index(drop=True)
    return df.reset_index()


def _plan(df: pd.DataFrame, lang: str, prefix) -> list[tuple[str, str]]:
    """(header, fmt) of each column, by position."""
    plan = []
    for i, col in enumerate(df.columns):
        key = column_key(col, prefix) if isinstance(col, str) else None
        header = label(key, lang) if key else str(col)
        fmt = column_format(col, prefix) if isinstance(col, str) else None
        plan.append((header, _check_format(fmt, col, key) if fmt else _auto_format(df.iloc[:, i])))
    return plan


def formatted(df: pd.DataFrame, lang: str, *, prefix: str | Sequence[str] = ()) -> pd.DataFrame:
    """``df`` as the text a page shows: every cell formatted (:data:`FORMATS`), headers labelled.

    Parameters
    ----------
    df : DataFrame
        The table (not modified).  A named index becomes columns.
    lang : str
        ``"zh"`` or ``"en"``.
    prefix : str or sequence of str
        Label-key prefixes tried before the bare column name (``"cls_"``, ``"churn_col_"``).

    Returns
    -------
    DataFrame
        Strings only (not HTML-escaped), columns named by their headers.
    """
    check_lang(lang)
    df = _as_columns(df)
    plan = _plan(df, lang, prefix)
    out = pd.DataFrame(
        {i: _format_column(df.iloc[:, i], fmt, lang) for i, (_, fmt) in enumerate(plan)},
        index=df.index,
    )
    out.columns = [h for h, _ in plan]
    return out.reset_index(drop=True)


def labelled(df: pd.DataFrame, lang: str, *, prefix: str | Sequence[str] = ()) -> pd.DataFrame:
    """``df`` for staff (a .csv/.xlsx): class codes and label keys named, headers labelled,
    numbers left as numbers (missing values stay missing).

    Parameters
    ----------
    df : DataFrame
        The table (not modified).
    lang : str
        ``"zh"`` or ``"en"``.
    prefix : str or sequence of str
        As in :func:`formatted`.

    Returns
    -------
    DataFrame
        A new frame with the same rows.
    """
    check_lang(lang)
    out = df.copy(deep=False)  # copy-on-write: the columns left as they are are not copied
    headers = []
    for i, col in enumerate(df.columns):
        key = column_key(col, prefix) if isinstance(col, str) else None
        fmt = column_format(col, prefix) if isinstance(col, str) else None
        if fmt:
            _check_format(fmt, col, key)
        s = df.iloc[:, i]
        if fmt and fmt.startswith(("code:", "label:")):
            name = (
                (lambda v, k=fmt[5:]: _code_name(k, v, lang))
                if fmt.startswith("code:")
                else (lambda v, p=fmt[6:]: label_or(f"{p}{v}", str(v), lang))
            )
            # each row points at its code's one name; s.map(dict) made a str column and
            # astype("object") a Python string per row (0.35 GB on page 01's roster at 10M lines)
            names = {v: name(v) for v in s.dropna().unique()}
            at = pd.Index(list(names), tupleize_cols=False).get_indexer(s)  # -1: missing
            texts = np.array([*names.values(), np.nan], dtype=object)[at]
            out.isetitem(i, pd.Series(texts, index=s.index, dtype="object"))
        elif fmt == "label":
            out.isetitem(i, relabel(s, lang))
        headers.append(label(key, lang) if key else str(col))
    out.columns = headers
    return out


@dataclass(frozen=True)
class Table:
    """What :func:`show` returns: a page shows it through ``_repr_html_``.

    ``frame`` holds the formatted text of every row; ``static_html`` is the escaped static
    table (the top rows for print when ``interactive``); ``interactive`` says whether the
    page gets a sortable, searchable copy of all rows.
    """

    frame: pd.DataFrame
    static_html: str
    interactive: bool
    caption: str | None = None
    _sort_keys: pd.DataFrame | None = None
    _numeric: tuple[int, ...] = ()
    lang: str = "zh"
    cut_note: str = ""  # escaped HTML: the page holds the first rows only

    def _repr_html_(self) -> str:
        if not self.interactive:
            return self.static_html + self.cut_note
        return self.cut_note + (
            _PRINT_CSS
            + f'<div class="{SCREEN_CLASS} {NO_MATH_CLASS}">'
            + _datatables_init()
            + _interactive_html(
                self.frame,
                self._sort_keys,
                self._numeric,
                self.caption,
                self.static_html,
                self.lang,
            )
            + "</div>"
            + f'<div class="{PRINT_CLASS}">{self.static_html}</div>'
        )

    def to_html(self) -> str:
        """The HTML a page shows (the same as ``_repr_html_``).

        Returns
        -------
        str
        """
        return self._repr_html_()


def show(
    df: pd.DataFrame,
    lang: str,
    *,
    caption: str | None = None,
    interactive: bool | None = None,
    max_rows: int | None = None,
    staff_file: str | None = None,
    prefix: str | Sequence[str] = (),
) -> Table:
    """A table for a report page, in ``lang``, with headers and formats from the label files.

    Parameters
    ----------
    df : DataFrame
        The table to show (not modified).  A named index becomes columns.
    lang : str
        ``"zh"`` or ``"en"``: headers, class names and the note on the staff file.
    caption : str, optional
        Shown above the table (escaped).
    interactive : bool, optional
        Sort, search and page on the HTML page; None (default) means when the table has more
        than :data:`INTERACTIVE_ROWS` rows.
    max_rows : int, optional
        Rows of the static table: the print copy of an interactive table (default
        :data:`PRINT_ROWS`), or a cut of a static one (default: all rows).
    staff_file : str, optional
        The file with the full list (e.g. ``"churn_risk.xlsx"``): named under the static
        table when it shows fewer rows than ``df`` has.
    prefix : str or sequence of str
        Label-key prefixes tried before the bare column name: ``"cls_"`` for the classification
        tables, ``"churn_col_"`` for the churn tables.

    Returns
    -------
    Table
        Shown by a notebook as HTML (``display(table)`` or a cell's last value).

    Raises
    ------
    ValueError
        When a column's label gives an unknown ``fmt`` (the message names the column).
    """
    total = len(df)
    interactive = total > INTERACTIVE_ROWS if interactive is None else bool(interactive)
    rows = max_rows if max_rows is not None else (PRINT_ROWS if interactive else total)
    part = df.iloc[: min(total if interactive else rows, PAGE_MAX_ROWS)]  # format what is shown
    text = formatted(part, lang, prefix=prefix)
    static = _static_html(text.head(rows), caption)
    if staff_file and min(rows, len(text)) < total:
        note = label("table_full_list", lang, file=staff_file)
        static += f'<p class="ccm-full-list {NO_MATH_CLASS}">{escape_html(note)}</p>'
    cut = ""
    if len(part) < total and (interactive or rows > len(part)):
        note = label("table_page_cut", lang, rows=len(part), total=total)
        cut = f'<p class="ccm-page-cut {NO_MATH_CLASS}">{escape_html(note)}</p>'
    return Table(
        frame=text,
        static_html=static,
        interactive=interactive,
        caption=caption,
        _sort_keys=_sort_keys(_as_columns(part)) if interactive else None,
        _numeric=tuple(
            i for i, (_, f) in enumerate(_plan(_as_columns(part), lang, prefix)) if f in _RIGHT
        ),
        lang=lang,
        cut_note=cut,
    )


def _static_html(text: pd.DataFrame, caption: str | None) -> str:
    headers = list(text.columns)
    body = text.set_axis(range(text.shape[1]), axis=1)
    sty = (
        body.style.format(na_rep=_MISSING, escape="html")
        .format_index(escape="html", axis="index")
        .format_index(escape="html", axis="columns")
        .relabel_index([styler_label(h) for h in headers], axis="columns")
        .set_table_attributes(f'class="{NO_MATH_CLASS}"')  # a name like "$x$" is no formula
        .hide(axis="index")
    )
    if caption:
        sty = sty.set_caption(escape_html(caption))
    return sty.to_html()


# ------------------------------------------------------------------ the interactive copy
_loaded = False  # the DataTables library is embedded once per page (its first table)


@per_page  # a report worker runs several pages in one kernel: each page embeds it again
def _page_not_loaded() -> None:
    global _loaded
    _loaded = False


def _datatables_init() -> str:
    """The offline DataTables bundle (itables' ``init_notebook_mode(connected=False)`` output),
    the first time a page shows an interactive table; later tables use the same library."""
    global _loaded
    if _loaded:
        return ""
    from itables import options
    from itables.javascript import generate_init_offline_itables_html

    logo, options.display_logo_when_loading = options.display_logo_when_loading, False
    try:  # without the logo, which links to itables.org: the report stays offline
        init = generate_init_offline_itables_html(options.dt_bundle)
    finally:
        options.display_logo_when_loading = logo
    _loaded = True
    return init


def _sort_keys(df: pd.DataFrame) -> pd.DataFrame:
    """Numbers to sort the numeric columns by (missing values first when ascending)."""
    keys = {}
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            keys[i] = s.astype("float64").fillna(float("-inf")).to_numpy()
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            keys[i] = s.rank(method="dense").fillna(float("-inf")).to_numpy(dtype="float64")
    return pd.DataFrame(keys, index=range(len(df)))


def _script_text(value: str) -> str:
    """A cell's text escaped for the page and with no call syntax left for the inline script
    that carries the table's data: ``(`` and ``)`` become character references too."""
    return escape_html(value).replace("(", "&#40;").replace(")", "&#41;")


def _controls(lang: str) -> dict[str, str]:
    """The interactive table's control texts (DataTables ``language``) in the page language."""
    keys = {
        "search": "table_search",
        "lengthMenu": "table_length_menu",
        "info": "table_info",
        "infoEmpty": "table_info_empty",
        "infoFiltered": "table_info_filtered",
        "zeroRecords": "table_zero_records",
    }
    return {k: label(v, lang) for k, v in keys.items()}


def _interactive_html(
    text: pd.DataFrame,
    sort_keys: pd.DataFrame | None,
    numeric: tuple[int, ...],
    caption: str | None,
    fallback: str,
    lang: str = "zh",
) -> str:
    from itables.javascript import (
        check_itable_arguments,
        get_itable_arguments,
        html_table_from_template,
    )
    from itables.typing import DTForITablesOptions

    n = text.shape[1]
    data = pd.DataFrame(
        {i: text.iloc[:, i].map(_script_text) for i in range(n)}, index=range(len(text))
    )
    data.columns = [_script_text(h) for h in text.columns]
    column_defs = [{"targets": list(numeric), "className": "dt-right"}] if numeric else []
    if sort_keys is not None and len(sort_keys.columns):
        for j, i in enumerate(sort_keys.columns):
            data[f"sort_{j}"] = sort_keys[i].to_numpy()
            column_defs.append({"targets": int(i), "orderData": n + j})
        hidden = list(range(n, n + len(sort_keys.columns)))
        column_defs.append({"targets": hidden, "visible": False, "searchable": False})
    table_id = f"ccm_{uuid.uuid4().hex}"
    options = {
        "allow_html": True,  # every cell and header is escaped above
        "showIndex": False,
        "maxBytes": 0,  # never downsample: all rows are searchable
        "connected": False,
        "display_logo_when_loading": False,
        "pageLength": PRINT_ROWS,
        "lengthMenu": [10, PRINT_ROWS, 50, 100, 500],
        "classes": "display compact nowrap",
        "language": _controls(lang),
        "scrollX": n > 8,
        "style": "table-layout:auto;width:auto;margin:auto;caption-side:top",
        "columnDefs": column_defs,
        "table_id": table_id,
    }
    # as itables.to_html_datatable, with our static table as the no-script fallback
    args = get_itable_arguments(data, _script_text(caption) if caption else None, **options)
    for key in ("dt_url", "connected", "display_logo_when_loading"):
        args.pop(key, None)
    check_itable_arguments(args, DTForITablesOptions)
    out = html_table_from_template(
        table_id=table_id,
        dt_url="",
        connected=False,
        display_logo_when_loading=False,
        kwargs=args,
        fallback_html=fallback,
    )
    # itables' loading line links to its troubleshooting page: the report stays offline
    out = out.replace("(need <a href=https://itables.org/troubleshooting.html>help</a>?)", "")
    return _unescape_json_text(out)


_JSON_ESCAPE = re.compile(r"(\\+)u([0-9a-fA-F]{4})")


def _unescape_json_text(text: str) -> str:
    """Non-ASCII characters that ``json.dumps`` wrote as ``\\uXXXX`` escapes, written as the
    characters themselves (at either level of the doubly encoded table data).

    The page then holds the table's Chinese as text, so the report's font subset (cut to the
    characters a page contains) covers it; the JSON decodes to the same values.
    """

    def sub(m: re.Match) -> str:
        n, code = len(m.group(1)), int(m.group(2), 16)
        if code < 0x80 or 0xD800 <= code <= 0xDFFF or code in (0x2028, 0x2029):
            return m.group(0)
        if n % 2 == 1:  # an escape of the outer JSON
            return "\\" * (n - 1) + chr(code)
        if n % 4 == 2:  # an escape of the JSON inside a string of the outer one
            return "\\" * (n - 2) + chr(code)
        return m.group(0)  # literal backslashes followed by "u...."

    return _JSON_ESCAPE.sub(sub, text)
