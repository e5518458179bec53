"""Validation of loaded tables against the data contract in ``schema``.

Every problem raises one :class:`DataError` whose message names the file, the
column, the first offending rows (as line numbers in the file, header = line 1)
and what was expected.  Validation never modifies the input files; it returns
new, typed DataFrames.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import DATE, ID, NUMBER, TABLES, TableSpec

MAX_SHOWN = 5


class DataError(ValueError):
    """A problem with the user's input data, explained in one paragraph."""

    def __init__(self, message: str, *, file=None, column=None, rows=None):
        self.file = None if file is None else str(file)
        self.column = column
        self.rows = list(rows or [])
        prefix = f"{Path(self.file).name}" if self.file else "input"
        if column:
            prefix += f", column '{column}'"
        super().__init__(f"{prefix}: {message}")


def _lines(positions) -> list[int]:
    """Data row positions (0-based) to line numbers in the file (header is line 1)."""
    return [int(p) + 2 for p in positions]


def _show(values: pd.Series) -> str:
    shown = [f"line {ln} {v!r}" for ln, v in zip(_lines(values.index[:MAX_SHOWN]), values.iloc[:MAX_SHOWN])]
    more = "" if len(values) <= MAX_SHOWN else f" and {len(values) - MAX_SHOWN} more"
    return ", ".join(shown) + more


_NUM_JUNK = re.compile(r"[,，\s¥￥元$]")


def parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (numbers, bad) where bad holds the raw values that are not numbers."""
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64"), raw.iloc[0:0]
    text = raw.astype("string").str.replace(_NUM_JUNK, "", regex=True)
    text = text.str.replace(r"^\((.*)\)$", r"-\1", regex=True)  # accounting negatives
    text = text.mask(text == "")
    nums = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = raw[nums.isna() & text.notna()]
    return nums, bad


def parse_dates(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (dates, bad): dates as datetime64[ns], bad as the unparseable raw values."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw.astype("datetime64[ns]"), raw.iloc[0:0]
    obj = raw.astype("object")
    is_ts = obj.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year"))
    text = obj.where(~is_ts).astype("string").str.strip()
    text = (text.str.replace("年", "-", regex=False).str.replace("月", "-", regex=False)
            .str.replace("日", "", regex=False).str.replace(r"[/.]", "-", regex=True))
    text = text.mask(text == "")
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    stamps = pd.to_datetime(obj.where(is_ts), errors="coerce")
    dates = parsed.fillna(stamps).astype("datetime64[ns]")
    bad = raw[dates.isna() & (text.notna() | is_ts)]
    return dates, bad


def _clean_ids(raw: pd.Series) -> pd.Series:
    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        s = str(v).strip()
        return s if s else pd.NA

    return raw.map(one).astype("string")


# column type -> (parser returning (values, bad raw values), what is wrong, what was expected)
_PARSERS = {
    NUMBER: (parse_numbers, "are not numbers", "Expected a number such as 1234.5 (negative for returns)."),
    DATE: (parse_dates, "are not valid dates", "Expected a calendar date such as 2025-03-31."),
}


def validate_table(df: pd.DataFrame, spec: TableSpec | str, *, file=None) -> pd.DataFrame:
    """Check one table against its spec and return a typed copy.

    Raises
    ------
    DataError
        for a missing required column, an empty table, an unparseable date or
        number, a blank required value, or a duplicated key.
    """
    spec = TABLES[spec] if isinstance(spec, str) else spec
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise DataError(
            f"required column missing (expected columns {', '.join(spec.required)}; found "
            f"{', '.join(map(str, df.columns)) or 'none'}). Rename the header or map it in columns.yaml.",
            file=file, column=missing[0])
    if len(df) == 0:
        raise DataError(f"the {spec.name} table is empty: expected at least one data row "
                        f"below the header", file=file)
    out = {}
    for col in df.columns:
        kind = spec.columns.get(col)
        raw = df[col]
        if kind in _PARSERS:
            parse, problem, expected = _PARSERS[kind]
            values, bad = parse(raw)
            if len(bad):
                raise DataError(f"{len(bad)} value(s) {problem}: {_show(bad)}. {expected}", file=file,
                                column=col, rows=_lines(bad.index))
        elif kind == ID:
            values = _clean_ids(raw)
        elif kind is not None:
            values = raw.astype("string").str.strip()
        else:
            values = raw
        if col in spec.required:
            blank = values.isna()
            if blank.any():
                idx = values.index[blank]
                raise DataError(f"{int(blank.sum())} row(s) have no value: lines "
                                f"{', '.join(map(str, _lines(idx[:MAX_SHOWN])))}. Every row needs a {col}.",
                                file=file, column=col, rows=_lines(idx))
        out[col] = values
    typed = pd.DataFrame(out, index=df.index)
    if spec.key and all(k in typed.columns for k in spec.key):
        dup = typed.duplicated(list(spec.key), keep=False) & typed[list(spec.key)].notna().all(axis=1)
        if dup.any():
            idx = typed.index[dup]
            keys = typed.loc[idx[:MAX_SHOWN], list(spec.key)].astype(str).agg("/".join, axis=1)
            raise DataError(f"duplicate key ({', '.join(spec.key)}) on lines "
                            f"{', '.join(map(str, _lines(idx[:MAX_SHOWN])))} (values {', '.join(keys)}). "
                            f"Expected each {'/'.join(spec.key)} once.", file=file, column=spec.key[0],
                            rows=_lines(idx))
    return typed.reset_index(drop=True)


def check_references(child: pd.DataFrame, parent: pd.DataFrame, col: str, *, file=None,
                     parent_name: str = "customers") -> None:
    """Every ``child[col]`` must appear in ``parent[col]``."""
    known = set(parent[col].dropna())
    unknown = child[col].notna() & ~child[col].isin(known)
    if unknown.any():
        bad = child.loc[unknown, col]
        raise DataError(f"{int(unknown.sum())} row(s) refer to a {col} that is not in the "
                        f"{parent_name} table: {_show(bad)}. Expected every {col} to be listed "
                        f"in {parent_name}.", file=file, column=col, rows=_lines(bad.index))
