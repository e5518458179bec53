"""Validation of loaded tables against the data contract in ``schema``.

Every problem raises one :class:`DataError` whose message names the file, the
column, the first offending lines (line numbers in the file, header = line 1
unless the reader says otherwise) and what was expected.  Validation never
modifies the input files; it returns new, typed DataFrames.

The rules are documented in ``docs/data-format.md``: numbers must be finite and
below ``MAX_ABS_NUMBER``, commas only between groups of three digits; dates lie
between ``EARLIEST_DATE`` and the run date (plus a day), are read year-first, and
a day/month order that the column leaves open is an error unless
``columns.yaml`` states a ``date_format``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.lookup import is_in
from analysis.data.schema import (
    DATE,
    EARLIEST_DATE,
    EARLIEST_DATE_BY_COLUMN,
    FUTURE_TOLERANCE_DAYS,
    ID,
    MAX_ABS_NUMBER,
    NUMBER,
    PLANNED_DATE_YEARS,
    TABLES,
    VOCABULARIES,
    TableSpec,
)

MAX_SHOWN = 5
DATE_ORDERS = ("day-first", "month-first")


class DataError(ValueError):
    """A problem with the user's input data, explained in one paragraph."""

    def __init__(self, message: str, *, file=None, column=None, rows=None):
        self.file = None if file is None else str(file)
        self.column = column
        self.rows = [int(r) for r in (rows if rows is not None else [])]
        prefix = f"{Path(self.file).name}" if self.file else "input"
        if column:
            prefix += f", column '{column}'"
        super().__init__(f"{prefix}: {message}")


class ColumnProblem(ValueError):
    """Values of one column that break a rule; ``values`` is indexed by line number."""

    def __init__(self, problem: str, values: pd.Series, expected: str):
        self.problem, self.values, self.expected = problem, values, expected
        super().__init__(f"{len(values)} value(s) {problem}: {_show(values)}. {expected}")


def require_columns(df: pd.DataFrame, cols, what: str) -> None:
    """Check that ``df`` has every column of ``cols``, the first thing a helper does.

    Parameters
    ----------
    df : DataFrame
        The input table.
    cols : sequence of str
        The columns the helper needs.
    what : str
        How the message names the table ("the transactions", "the customer table").

    Raises
    ------
    KeyError
        ``Required column X missing from <what> (columns present: ...)`` for the first
        missing column.
    """
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(
            f"Required column {missing[0]} missing from {what} "
            f"(columns present: {', '.join(map(str, df.columns))})"
        )


def line_list(lines) -> str:
    """``line 4`` or ``lines 2, 4, 9 and 3 more``.

    Parameters
    ----------
    lines : sequence of int
        Line numbers.

    Returns
    -------
    str
        The lines in words (at most a few shown).
    """
    lines = [int(v) for v in lines]
    shown = ", ".join(map(str, lines[:MAX_SHOWN]))
    more = "" if len(lines) <= MAX_SHOWN else f" and {len(lines) - MAX_SHOWN} more"
    return f"line{'s' if len(lines) > 1 else ''} {shown}{more}"


def _show(values: pd.Series) -> str:
    """``line 3 'abc', line 7 'x' and 2 more``: values indexed by line number."""
    shown = [
        f"line {int(ln)} {_text(v)!r}"
        for ln, v in zip(values.index[:MAX_SHOWN], values.iloc[:MAX_SHOWN])
    ]
    more = "" if len(values) <= MAX_SHOWN else f" and {len(values) - MAX_SHOWN} more"
    return ", ".join(shown) + more


def _text(v):
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return (
            str(pd.Timestamp(v).date())
            if pd.Timestamp(v) == pd.Timestamp(v).normalize()
            else str(v)
        )
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v if isinstance(v, str) else str(v)


def default_lines(n: int) -> np.ndarray:
    """Line numbers of ``n`` data rows under a one-line header.

    Parameters
    ----------
    n : int
        Rows.

    Returns
    -------
    ndarray
        2 .. n + 1.
    """
    return np.arange(n, dtype="int64") + 2


# ------------------------------------------------------------------ numbers
_NUM_JUNK = re.compile(r"[\s¥￥元$]")
_NON_FINITE = ("inf", "infinity", "nan")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (numbers, bad) where bad holds the raw values that are not usable numbers.

    Accepted: ``1234.5``, ``1,234.5`` (a comma only between groups of three
    digits, so ``1200,50`` is refused rather than read as 120050), ``¥1,234.5``,
    ``1234.5元``, ``(120)`` for -120. Refused as well: ``inf``, ``nan`` and any
    value of ``MAX_ABS_NUMBER`` or more in size. Blank is missing, not bad.

    Parameters
    ----------
    raw : Series
        Values as read.

    Returns
    -------
    tuple of (Series, Series)
        The numbers (NaN where blank or bad) and the bad raw values.
    """
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        nums = raw.astype("float64")
        ok = nums.abs() < MAX_ABS_NUMBER
        return nums.where(ok), raw[nums.notna() & ~ok]
    nums = pd.to_numeric(raw.astype("string"), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    filled = raw.notna().to_numpy()
    pos = np.flatnonzero(np.isnan(nums) & filled)  # not a plain number: clean, then try again
    if len(pos):
        text = (
            raw.iloc[pos]
            .astype("string")
            .str.replace(_NUM_JUNK, "", regex=True)
            .str.replace("，", ",", regex=False)
        )
        text = text.str.replace(r"^\((.*)\)$", r"-\1", regex=True)  # accounting negatives
        text = text.mask(text == "")
        misgrouped = (text.str.contains(",", regex=False) & ~text.str.fullmatch(_GROUPED)).fillna(
            False
        )
        cleaned = pd.to_numeric(
            text.str.replace(",", "", regex=False).mask(misgrouped), errors="coerce"
        )
        nums = nums.copy()
        nums[pos] = cleaned.to_numpy(dtype="float64", na_value=np.nan)
        filled = filled.copy()
        filled[pos] = text.notna().to_numpy()  # only a currency sign or spaces: blank, not bad
    with np.errstate(invalid="ignore"):
        ok = np.abs(nums) < MAX_ABS_NUMBER  # False for NaN and inf
    return pd.Series(np.where(ok, nums, np.nan), index=raw.index, name=raw.name), raw[filled & ~ok]


# ------------------------------------------------------------------ dates
_DATE_HEAD = re.compile(r"^([0-9]+(?:[-/.年月日][0-9]*)*[日]?)(.*)$")
_TZ = re.compile(r"^(.*\d)\s*(Z|[+-]\d{2}:?\d{2})$")
_PARTS = re.compile(r"^(\d+)-(\d+)-(\d+)$")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")


def _normalise_offset(off: str) -> str:
    if off == "Z":
        return "+00:00"
    return off if ":" in off else f"{off[:3]}:{off[3:]}"


def _split_dates(text: pd.Series) -> pd.DataFrame:
    """Date part (separators made '-'), the rest (time) and any time-zone offset of each text value."""
    head = text.str.extract(_DATE_HEAD)
    date = (
        head[0]
        .str.replace("年", "-", regex=False)
        .str.replace("月", "-", regex=False)
        .str.replace("日", "", regex=False)
        .str.replace(r"[/.]", "-", regex=True)
        .str.rstrip("-")
    )
    rest = head[1].str.strip().str.replace(r"^T", "", regex=True)
    tz = rest.str.extract(_TZ)
    has_tz = tz[1].notna()
    rest = rest.where(~has_tz, tz[0])
    parts = date.str.extract(_PARTS)
    return pd.DataFrame(
        {
            "date": date,
            "rest": rest.mask(rest == ""),
            "tz": tz[1].map(_normalise_offset, na_action="ignore"),
            "p1": parts[0],
            "p2": parts[1],
            "p3": parts[2],
        },
        index=text.index,
    )


def _check_offsets(raw: pd.Series, split: pd.DataFrame) -> None:
    offsets = split["tz"].dropna()
    if offsets.nunique() > 1:
        firsts = [
            f"{off} on {line_list(idx)}"
            for off, idx in offsets.groupby(offsets, sort=False).groups.items()
        ]
        raise ColumnProblem(
            f"mix time-zone offsets ({'; '.join(firsts)})",
            raw[offsets.index],
            "Expected one time zone for the whole column (the date and time are used as "
            "written), or dates without a time zone.",
        )


def _day_month_order(raw: pd.Series, a: pd.Series, b: pd.Series, date_format: str | None) -> str:
    """'day-first' or 'month-first' for dates written with the year last (31/03/2025)."""
    if date_format in DATE_ORDERS:
        return date_format
    day_first, month_first = raw[(a > 12) & (b <= 12)], raw[(b > 12) & (a <= 12)]
    if len(day_first) and len(month_first):
        major, minor = (
            (day_first, month_first)
            if len(day_first) >= len(month_first)
            else (month_first, day_first)
        )
        names = ("day-first", "month-first") if major is day_first else ("month-first", "day-first")
        raise ColumnProblem(
            f"are written {names[1]} while {len(major)} other(s) are {names[0]} "
            f"({_show(major[:2])})",
            minor,
            "Expected one date format in a column (a day above 12 shows which part is the "
            "day); correct the odd lines in the source system.",
        )
    open_ = (a <= 12) & (b <= 12) & (a != b)
    if open_.any():
        proof = day_first if len(day_first) else month_first
        hint = (
            f"The column looks {'day' if len(day_first) else 'month'}-first ({_show(proof[:2])}), but a "
            f"format is not guessed. "
            if len(proof)
            else ""
        )
        raise ColumnProblem(
            "can be read day-first or month-first (01/02/2025 is 1 February day-first, 2 January month-first)",
            raw[open_],
            f"{hint}Expected year-first dates (2025-02-01), or the order stated in columns.yaml: "
            f"'date_format: day-first' (or month-first, or a pattern such as '%d/%m/%Y').",
        )
    return "day-first" if len(day_first) else "month-first"


def _to_iso(raw: pd.Series, split: pd.DataFrame, date_format: str | None) -> pd.Series:
    """ISO text for dates written with numbers (year first or year last); NA for other forms."""
    p = split[["p1", "p2", "p3"]]
    y_first = p["p1"].str.len().eq(4)
    y_last = p["p3"].str.len().eq(4) & p["p1"].str.len().le(2) & p["p2"].str.len().le(2)
    two_digit = p.notna().all(axis=1) & ~y_first & ~y_last
    if two_digit.any():
        raise ColumnProblem(
            "have no four-digit year",
            raw[two_digit[two_digit].index],
            "Expected a four-digit year (2025-03-31), or the exact pattern in columns.yaml, "
            "such as 'date_format: \"%d/%m/%y\"'.",
        )
    iso = pd.Series(pd.NA, index=raw.index, dtype="string")
    iso[y_first] = (
        p.loc[y_first, "p1"]
        + "-"
        + p.loc[y_first, "p2"].str.zfill(2)
        + "-"
        + p.loc[y_first, "p3"].str.zfill(2)
    )
    if y_last.any():
        a, b = p.loc[y_last, "p1"].astype(int), p.loc[y_last, "p2"].astype(int)
        order = _day_month_order(raw[y_last], a, b, date_format)
        day, month = (
            (p.loc[y_last, "p1"], p.loc[y_last, "p2"])
            if order == "day-first"
            else (p.loc[y_last, "p2"], p.loc[y_last, "p1"])
        )
        iso[y_last] = p.loc[y_last, "p3"] + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
    return iso.where(split["rest"].isna(), iso + " " + split["rest"])


def _parse_other(text: pd.Series, dayfirst: bool) -> pd.Series:
    """Date forms without numeric separators (20250331, 'Mar 31 2025'): pandas' own guess."""
    if text.empty:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    try:
        out = pd.to_datetime(text, errors="coerce", format="mixed", dayfirst=dayfirst)
    except (ValueError, OverflowError, TypeError):
        out = text.map(lambda v: _one_date(v, dayfirst))
        out = pd.to_datetime(out, errors="coerce")
    return _naive(out)


def _one_date(v, dayfirst):
    try:
        ts = pd.Timestamp(pd.to_datetime(v, dayfirst=dayfirst))
        return ts.tz_localize(None) if ts.tz is not None else ts
    except (ValueError, OverflowError, TypeError):
        return pd.NaT


def _naive(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    return s.astype("datetime64[us]")


def parse_dates(raw: pd.Series, *, date_format: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Return (dates, bad): dates as datetime64[us], bad as the raw values that are not dates.

    Text is read year-first (``2025-03-31``, ``2025/3/31``, ``2025年3月31日``). A
    date written year-last (``31/03/2025``) is read in the order the column shows
    (a day above 12 proves day-first); when the column leaves it open the order
    must be given in ``date_format`` (``day-first``, ``month-first`` or a pattern
    such as ``%d/%m/%Y``, which then applies to every text value). A time-zone
    offset is dropped (the time as written is kept) when the column has one.

    Parameters
    ----------
    raw : Series
        Values as read.
    date_format : str, optional
        ``day-first``, ``month-first`` or a pattern.

    Returns
    -------
    tuple of (Series, Series)
        The dates and the bad raw values.

    Raises
    ------
    ColumnProblem
        for a column mixing time-zone offsets or day/month orders, an open
        day/month order, or a two-digit year.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        return _naive(raw), raw.iloc[0:0]
    if raw.dtype == object:  # Excel: real date cells beside text
        is_ts = raw.map(
            lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year")
        )
    else:
        is_ts = pd.Series(False, index=raw.index)
    text = raw.where(~is_ts).astype("string").str.strip()
    text = text.mask(text == "")
    dates = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    if date_format and date_format not in DATE_ORDERS:
        dates = _naive(pd.to_datetime(text, format=date_format, errors="coerce"))
    elif text.notna().any():
        filled = text.dropna()
        iso_like = filled.str.fullmatch(_ISO).astype(
            bool
        )  # the usual case, read without further questions
        dates[filled.index[iso_like]] = _naive(
            pd.to_datetime(filled[iso_like], format="ISO8601", errors="coerce")
        )
        if not iso_like.all():
            split = _split_dates(filled[~iso_like])
            _check_offsets(raw, split)
            iso = _to_iso(raw[split.index], split, date_format)
            dates[iso.dropna().index] = _naive(
                pd.to_datetime(iso.dropna(), format="ISO8601", errors="coerce")
            )
            other = text[split.index][iso.isna()]
            plain = other.where(split.loc[other.index, "tz"].isna(), split.loc[other.index, "date"])
            dates[other.index] = _parse_other(plain, date_format == "day-first")
    if is_ts.any():
        stamps = pd.to_datetime(
            pd.Series(
                [_one_date(v, False) for v in raw[is_ts]], index=raw.index[is_ts], dtype="object"
            ),
            errors="coerce",
        )
        dates[stamps.index] = _naive(stamps)
    bad = raw[dates.isna() & (text.notna() | is_ts)]
    return dates, bad


def _check_date_range(raw: pd.Series, dates: pd.Series, col: str, today: pd.Timestamp) -> pd.Series:
    """Dates before the plausible start or after the run date are errors; returns datetime64[ns]."""
    floor = pd.Timestamp(EARLIEST_DATE_BY_COLUMN.get(col, EARLIEST_DATE))
    if col in PLANNED_DATE_YEARS:
        years = PLANNED_DATE_YEARS[col]
        ceiling = today + pd.DateOffset(years=years)
        after = f"more than {years} years after the run date ({today:%Y-%m-%d})"
        why = f"Expected a {col} within {years} years; a later one is usually a typo in the year."
    else:
        ceiling = today + pd.Timedelta(
            days=FUTURE_TOLERANCE_DAYS + 1
        )  # exclusive: any time on the last day
        after = f"after the run date ({today:%Y-%m-%d}) by more than {FUTURE_TOLERANCE_DAYS} day"
        why = (
            "Expected no date in the future; it is usually a typo in the year, and it would move the "
            "report's default quarter."
        )
    early, late = dates < floor, dates >= ceiling
    if early.any():
        raise ColumnProblem(
            f"are before {floor:%Y-%m-%d}",
            raw[early],
            f"Expected dates from {floor:%Y-%m-%d} on; an older date is usually a typo in "
            f"the year (0202 for 2020).",
        )
    if late.any():
        raise ColumnProblem(f"are {after}", raw[late], why)
    return dates.astype("datetime64[ns]")


# ------------------------------------------------------------------ ids and vocabularies
def _clean_ids(raw: pd.Series) -> pd.Series:
    if (
        pd.api.types.is_string_dtype(raw) and raw.dtype != object
    ):  # CSV text: no 1001.0 floats to undo
        text = raw.astype("string").str.strip()
        return text.mask(text == "")

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = str(v).strip()
        return s if s else pd.NA

    return raw.map(one).astype("string")


def _vocabulary(raw: pd.Series, allowed: tuple[str, ...], aliases: dict[str, str]) -> pd.Series:
    text = raw.astype("string").str.strip()
    canon = text.str.lower().map(
        lambda v: v if v in allowed else aliases.get(v, pd.NA), na_action="ignore"
    )
    unknown = text.notna() & canon.isna()
    if unknown.any():
        alias_text = ", ".join(f"{k} = {v}" for k, v in aliases.items())
        raise ColumnProblem(
            "are not known kinds",
            raw[unknown],
            f"Expected one of {', '.join(allowed)} (upper or lower case; Chinese {alias_text}).",
        )
    return canon.astype("string")


# ------------------------------------------------------------------ tables
def _paid_after_invoice(typed: pd.DataFrame, file) -> None:
    if not {"paid_date", "invoice_date"} <= set(typed.columns):
        return
    early = typed["paid_date"] < typed["invoice_date"]
    if early.any():
        rows = typed.loc[early]
        shown = ", ".join(
            f"line {ln} paid {p:%Y-%m-%d}, invoice_date {i:%Y-%m-%d}"
            for ln, p, i in zip(rows.index[:MAX_SHOWN], rows["paid_date"], rows["invoice_date"])
        )
        raise DataError(
            f"{int(early.sum())} invoice(s) are paid before they were issued: {shown}"
            f"{'' if early.sum() <= MAX_SHOWN else f' and {int(early.sum()) - MAX_SHOWN} more'}. "
            f"Expected paid_date on or after invoice_date (negative collection days would earn a good "
            f"credit grade); a prepayment is not a receivable: leave it out or date it on the invoice "
            f"date.",
            file=file,
            column="paid_date",
            rows=rows.index,
        )


_TABLE_RULES = {"receivables": (_paid_after_invoice,)}


def validate_table(
    df: pd.DataFrame,
    spec: TableSpec | str,
    *,
    file=None,
    lines=None,
    today=None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Check one table against its spec and return a typed copy.

    Parameters
    ----------
    df : DataFrame
        The table with canonical headers, one row per data line.
    spec : TableSpec or table name
    file : path, optional
        Named in messages.
    lines : array of int, optional
        The line number of each row in the file (default: header on line 1, no
        blank lines).
    today : date, optional
        The run date for the future-date rule (default: today).
    date_format : str, optional
        ``day-first``, ``month-first`` or a pattern such as ``%d/%m/%Y`` (from
        ``columns.yaml``).

    Returns
    -------
    DataFrame
        The typed copy, one row per data line.

    Raises
    ------
    DataError
        for a missing required column, an empty table, an unparseable,
        non-finite or implausible number or date, an unknown kind, a blank
        required value, a duplicated key, or a table rule (a payment before
        its invoice).
    """
    spec = TABLES[spec] if isinstance(spec, str) else spec
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise DataError(
            f"required column missing (expected columns {', '.join(spec.required)}; found "
            f"{', '.join(map(str, df.columns)) or 'none'}). Rename the header or map it in columns.yaml.",
            file=file,
            column=missing[0],
        )
    if len(df) == 0:
        raise DataError(
            f"the {spec.name} table is empty: expected at least one data row below the header",
            file=file,
        )
    lines = default_lines(len(df)) if lines is None else np.asarray(lines, dtype="int64")
    df = df.set_axis(pd.Index(lines, name="line"))
    today = pd.Timestamp.now().normalize() if today is None else pd.Timestamp(today).normalize()
    out = {}
    for col in df.columns:
        try:
            out[col] = _typed_column(df[col], spec, col, today, date_format)
        except ColumnProblem as exc:
            raise DataError(str(exc), file=file, column=col, rows=exc.values.index) from None
        if col in spec.required and out[col].isna().any():
            idx = out[col].index[out[col].isna()]
            raise DataError(
                f"{len(idx)} row(s) have no value: {line_list(idx)}. Every row needs a {col}.",
                file=file,
                column=col,
                rows=idx,
            )
    typed = pd.DataFrame(out, index=df.index)
    if spec.key and all(k in typed.columns for k in spec.key):
        dup = typed.duplicated(list(spec.key), keep=False) & typed[list(spec.key)].notna().all(
            axis=1
        )
        if dup.any():
            idx = typed.index[dup]
            keys = typed.loc[idx[:MAX_SHOWN], list(spec.key)].astype(str).agg("/".join, axis=1)
            raise DataError(
                f"duplicate key ({', '.join(spec.key)}) on {line_list(idx)} (values "
                f"{', '.join(keys)}). Expected each {'/'.join(spec.key)} once.",
                file=file,
                column=spec.key[0],
                rows=idx,
            )
    for rule in _TABLE_RULES.get(spec.name, ()):
        rule(typed, file)
    return typed.reset_index(drop=True)


def _all_non_finite(bad: pd.Series) -> bool:
    """True when every bad value is a number that is not finite or too large (inf, 1e400, nan, 1e300)."""
    if pd.api.types.is_numeric_dtype(bad):
        return True
    text = bad.astype("string").str.strip().str.lower()
    return bool(
        (
            text.str.lstrip("+-").isin(_NON_FINITE) | pd.to_numeric(text, errors="coerce").notna()
        ).all()
    )


def _typed_column(raw: pd.Series, spec: TableSpec, col: str, today, date_format) -> pd.Series:
    kind = spec.columns.get(col)
    if kind == NUMBER:
        values, bad = parse_numbers(raw)
        if len(bad):
            problem = (
                "are infinite, nan or too large" if _all_non_finite(bad) else "are not numbers"
            )
            raise ColumnProblem(
                problem,
                bad,
                f"Expected a finite number such as 1234.5 or 1,234.5 (a decimal point, commas only "
                f"between groups of three digits, smaller than {MAX_ABS_NUMBER:.0e} in size; "
                f"negative for returns).".replace("e+", "e"),
            )
        return values
    if kind == DATE:
        values, bad = parse_dates(raw, date_format=date_format)
        if len(bad):
            expected = (
                f"Expected dates written as {date_format} (date_format in columns.yaml)."
                if date_format and date_format not in DATE_ORDERS
                else "Expected a calendar date such as 2025-03-31."
            )
            raise ColumnProblem("are not valid dates", bad, expected)
        return _check_date_range(raw, values, col, today)
    if kind == ID:
        return _clean_ids(raw)
    if (spec.name, col) in VOCABULARIES:
        return _vocabulary(raw, *VOCABULARIES[(spec.name, col)])
    if kind is not None:
        return raw.astype("string").str.strip()
    return raw


def check_references(
    child: pd.DataFrame,
    parent: pd.DataFrame,
    col: str,
    *,
    file=None,
    parent_name: str = "customers",
    lines=None,
) -> None:
    """Every ``child[col]`` must appear in ``parent[col]``; ``lines`` gives each child row's line number.

    Parameters
    ----------
    child, parent : DataFrame
        The referring and the referred table.
    col : str
        The key column.
    file : path, optional
        The child's file, named in messages.
    parent_name : str
        The referred table's name.
    lines : array of int, optional
        Each child row's line number.
    """
    known = set(parent[col].dropna())
    unknown = child[col].notna() & ~is_in(child[col], known)
    if unknown.any():
        lines = default_lines(len(child)) if lines is None else np.asarray(lines, dtype="int64")
        bad = child.loc[unknown, col].set_axis(lines[unknown.to_numpy()])
        raise DataError(
            f"{int(unknown.sum())} row(s) refer to a {col} that is not in the "
            f"{parent_name} table: {_show(bad)}. Expected every {col} to be listed "
            f"in {parent_name}.",
            file=file,
            column=col,
            rows=bad.index,
        )
