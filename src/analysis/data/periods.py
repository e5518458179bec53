"""Calendar quarters: one place for period arithmetic.

A :class:`Quarter` knows its first day, its exclusive end, the previous
quarter, the same quarter last year and the trailing twelve months.  Periods
are half-open: ``start <= date < end``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

_RX = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*[Qq]([1-4])\s*$")


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter (``2025Q4``): ``start`` is its first day, ``end`` the first day after.

    Attributes
    ----------
    year : int
        The year.
    q : int
        The quarter, 1 to 4.
    """

    year: int
    q: int

    @classmethod
    def parse(cls, text: str | Quarter) -> Quarter:
        """A quarter from text such as ``"2025Q4"`` (a Quarter is returned as it is).

        Parameters
        ----------
        text : str or Quarter
            The quarter.

        Returns
        -------
        Quarter
        """
        if isinstance(text, Quarter):
            return text
        m = _RX.match(str(text))
        if not m:
            raise ValueError(f"not a quarter: {text!r}; expected the form 2025Q4")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, date) -> Quarter:
        """The quarter a date falls in.

        Parameters
        ----------
        date : date-like
            The date.

        Returns
        -------
        Quarter
        """
        ts = pd.Timestamp(date)
        return cls(ts.year, (ts.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> pd.Timestamp:
        """Exclusive end: the first day of the next quarter."""
        return self.shift(1).start

    @property
    def last_day(self) -> pd.Timestamp:
        return self.end - pd.Timedelta(days=1)

    def shift(self, n: int) -> Quarter:
        """The quarter ``n`` quarters later (earlier when negative).

        Parameters
        ----------
        n : int
            Quarters to move.

        Returns
        -------
        Quarter
        """
        idx = self.year * 4 + (self.q - 1) + n
        return Quarter(idx // 4, idx % 4 + 1)

    def previous(self) -> Quarter:
        """The quarter before.

        Returns
        -------
        Quarter
        """
        return self.shift(-1)

    def same_quarter_last_year(self) -> Quarter:
        """The same quarter a year before.

        Returns
        -------
        Quarter
        """
        return self.shift(-4)

    @property
    def trailing_12m_start(self) -> pd.Timestamp:
        """Start of the four quarters ending with this one."""
        return self.shift(-3).start


def quarter_range(first: Quarter, last: Quarter) -> list[Quarter]:
    """Every quarter from ``first`` to ``last`` (inclusive).

    Parameters
    ----------
    first, last : Quarter
        The bounds.

    Returns
    -------
    list of Quarter
        Oldest first.
    """
    out, q = [], first
    while q <= last:
        out.append(q)
        q = q.shift(1)
    return out


def quarters_covered(dates: pd.Series) -> list[Quarter]:
    """Quarters from the first to the last date (inclusive).

    Parameters
    ----------
    dates : Series
        Dates.

    Returns
    -------
    list of Quarter
        Oldest first; empty without dates.
    """
    dates = pd.to_datetime(dates).dropna()
    if dates.empty:
        return []
    return quarter_range(Quarter.of(dates.min()), Quarter.of(dates.max()))


def latest_complete_quarter(dates: pd.Series) -> Quarter:
    """The latest quarter whose last day is covered by the data.

    A quarter counts as complete when the data reach into its last fortnight,
    so an export taken on 28 December still reports Q4.  When the data cover
    no complete quarter, the last (partial) quarter is returned.

    Parameters
    ----------
    dates : Series
        Transaction dates.

    Returns
    -------
    Quarter
    """
    dates = pd.to_datetime(dates).dropna()
    last = dates.max()
    q = Quarter.of(last)
    if last >= q.end - pd.Timedelta(days=14):
        return q
    prev = q.previous()
    return prev if prev.end > dates.min() else q


def resolve_quarter(text: str, dates: pd.Series) -> Quarter:
    """An explicit quarter, or the latest complete quarter of the data when text is empty.

    Parameters
    ----------
    text : str
        A quarter such as ``2025Q4``, or empty.
    dates : Series
        Transaction dates.

    Returns
    -------
    Quarter
    """
    if text:
        q = Quarter.parse(text)
        dates = pd.to_datetime(dates).dropna()
        if q.end <= dates.min() or q.start > dates.max():
            raise ValueError(
                f"quarter {q} is outside the data, which cover "
                f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}"
            )
        return q
    return latest_complete_quarter(dates)


def between(df: pd.DataFrame, start, end, *, date_col: str = "date") -> pd.DataFrame:
    """Rows with ``start <= date < end`` (either bound may be None).

    Parameters
    ----------
    df : DataFrame
        Dated rows.
    start, end : date-like or None
        The half-open window.
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        The rows inside.
    """
    mask = pd.Series(True, index=df.index)
    if start is not None:
        mask &= df[date_col] >= pd.Timestamp(start)
    if end is not None:
        mask &= df[date_col] < pd.Timestamp(end)
    return df.loc[mask]
