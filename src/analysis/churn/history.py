"""Transaction lines sorted once, so that every churn window is a few array sums.

A churn study looks at the same lines from several cutoffs (training, test, now) and
through several windows (the history before a cutoff, the label window after it, the
trend periods, the trailing year).  :class:`TransactionHistory` codes the customers
once, sorts the lines by day and keeps the distinct purchase days; each window is
then a slice of sorted arrays summed per customer with :func:`numpy.bincount`, with
no groupby over the lines and no second copy of them.

The definitions are those of :func:`analysis.engine.aggregate.customer_summary`
(a purchase is a line with amount > 0, frequency counts distinct purchase days,
returns are the negative lines); a test holds the two to the same numbers.
Days are whole calendar days: a cutoff is midnight at the start of its day.

Sums of amounts are exact to the last bit whatever the order of the lines: each
amount is split into a part on a grid coarse enough for every partial sum to be
exact and a tiny remainder (:meth:`TransactionHistory._sum`), so a customer's sales do not depend on
how the lines were sorted, and agree with pandas' compensated sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.validation import DataError

__all__ = ["CustomerSnapshot", "TransactionHistory", "day_number"]

#: entries per step where a sum over lines or purchase days is split into steps
_CHUNK = 1 << 20


def day_number(when) -> int:
    """Days since 1970-01-01 of the day ``when`` falls on (a time of day is dropped).

    Parameters
    ----------
    when : date-like
        A date or timestamp.

    Returns
    -------
    int
        The day number, the unit of :class:`TransactionHistory`.
    """
    return int(np.datetime64(pd.Timestamp(when).normalize().to_datetime64(), "D").astype(np.int64))


def _grid(x: np.ndarray) -> float:
    """A power of two so fine that the sum of ``|x|`` stays below 2**51 of its steps
    (0 when ``x`` has no finite nonzero total)."""
    total = float(np.abs(x).sum())
    if total == 0 or not math.isfinite(total):
        return 0.0
    return math.ldexp(1.0, math.ceil(math.log2(total)) - 51)


@dataclass(frozen=True)
class CustomerSnapshot:
    """Per-customer sums of the lines before one cutoff; arrays indexed by customer code.

    Attributes
    ----------
    cutoff : int
        The cutoff's day number.
    frequency : ndarray
        Distinct purchase days before the cutoff.
    first_day, last_day : ndarray
        First and last purchase day (day numbers; -1 without a purchase).
    monetary : ndarray
        Net sales (returns included).
    returns_amount, n_returns : ndarray
        Absolute sum and count of the negative lines.
    gross_profit : ndarray
        Sum of amount - cost over the lines with a cost (NaN when none has one).
    cost_lines : ndarray
        Lines with a known cost.
    gap_sq_sum : ndarray
        Sum of the squared gaps (days) between consecutive purchase days.
    """

    cutoff: int
    frequency: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    monetary: np.ndarray
    returns_amount: np.ndarray
    n_returns: np.ndarray
    gross_profit: np.ndarray
    cost_lines: np.ndarray
    gap_sq_sum: np.ndarray

    def active(self, active_days: int | None) -> np.ndarray:
        """Codes of the customers with a purchase in the ``active_days`` before the cutoff.

        Parameters
        ----------
        active_days : int or None
            Days before the cutoff; None or 0 counts any purchase before it.

        Returns
        -------
        ndarray
            Sorted customer codes.
        """
        bought = self.frequency > 0
        if active_days:
            bought &= self.last_day >= self.cutoff - int(active_days)
        return np.flatnonzero(bought)


class TransactionHistory:
    """Transaction lines coded by customer and sorted by day, for sums at any cutoff.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    id_col, date_col, amount_col, cost_col : str
        Column names; a missing ``cost_col`` leaves gross profit unknown.  Lines without a
        customer id or a date are left out, a blank amount counts as zero.

    Attributes
    ----------
    ids : Index
        Customer ids in sorted order; a customer's code is its position here.
    has_cost : bool
        Whether the lines have a cost column.
    """

    def __init__(
        self,
        tx: pd.DataFrame,
        *,
        id_col: str = "customer_id",
        date_col: str = "date",
        amount_col: str = "amount",
        cost_col: str = "cost",
    ):
        for col in (id_col, date_col, amount_col):
            if col not in tx.columns:
                raise DataError(f"Required column {col} missing from transactions")
        # factorize unsorted, then number the ids in sorted order: faster than sort=True
        codes, ids = pd.factorize(tx[id_col], sort=False)
        by_id = np.argsort(ids)
        # 32-bit codes: counted in chunks (:meth:`_count_where`, :meth:`_sum`), never as one long
        # copy (:func:`numpy.bincount` copies codes narrower than its index type)
        rank = np.empty(len(ids) + 1, dtype=np.int32 if len(ids) < 2**31 else np.int64)
        rank[by_id], rank[-1] = np.arange(len(ids)), -1  # code -1 (no id) stays -1
        codes, ids = rank[codes], ids.take(by_id)
        del rank, by_id
        day = tx[date_col].to_numpy().astype("datetime64[D]")  # a new array, changed in place below
        keep = (codes >= 0) & ~np.isnat(day)
        day = day.view(np.int64)
        rows = None if keep.all() else np.flatnonzero(keep)
        del keep
        if rows is not None:
            day, codes = day[rows], codes[rows]
        first = int(day.min()) if len(day) else 0
        span = int(day.max()) - first + 1 if len(day) else 1
        # a stable sort by day; on 16-bit day offsets numpy sorts by radix, 4x faster
        day -= first
        offset = day.astype(np.uint16) if span < 2**16 else day
        del day
        order = np.argsort(offset, kind="stable")
        rows = order if rows is None else rows[order]
        # a plain index of the ids (str for text ids), as a sorted list of them would give
        self.ids = pd.Index(ids.tolist(), name="customer_id")
        self.n = len(ids)
        self.has_cost = cost_col in tx.columns
        self._code = codes[order]
        del codes
        offset = offset[order]
        del order
        # days as offsets from the first one; the lines of day offset k start at _day_start[k]
        # (one entry per day instead of a day per line)
        self._first, self._span = first, span
        days = np.arange(span, dtype=offset.dtype)  # same dtype: searchsorted copies no line
        self._day_start = np.r_[np.searchsorted(offset, days, side="left"), len(offset)]
        del days
        amount = tx[amount_col].to_numpy(dtype="float64", na_value=np.nan)[rows]
        buy = amount > 0  # the returns (amount < 0, blank amounts being 0) are found per window
        if self.has_cost:
            profit = tx[cost_col].to_numpy(dtype="float64", na_value=np.nan)[rows]
            np.subtract(amount, profit, out=profit)  # amount - cost, in the array of the costs
            self._cost_known = ~np.isnan(profit)
            profit[~self._cost_known] = 0.0
            self._profit, self._profit_grid = profit, _grid(profit)
        amount[np.isnan(amount)] = 0.0
        self._amount, self._amount_grid = amount, _grid(amount)
        del rows
        # distinct (customer, day) with a purchase, sorted by customer then day
        pairs = self._code[buy].astype(np.int64)
        pairs *= span
        pairs += offset[buy]
        del buy, offset
        pairs.sort()
        # np.unique hashes (slow here); the sorted keys only need their first of each run
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
        # the purchase days as offsets from the first day, in the lines' offset dtype
        self._buy_off = (pairs % span).astype(np.uint16 if span < 2**16 else np.int64)
        pairs //= span
        self._buy_code = pairs.astype(self._code.dtype)
        del pairs
        self._snapshots: dict[int, CustomerSnapshot] = {}

    # ------------------------------------------------------------------ windows
    def _offset(self, day: int) -> int:
        """``day`` as an offset from the first day, clipped to [0, span]: the same comparisons
        with every line's day."""
        return min(max(int(day) - self._first, 0), self._span)

    def _lines(self, start: int | None, end: int) -> slice:
        """The lines dated in [start, end) (day numbers; None: from the first)."""
        a = 0 if start is None else int(self._day_start[self._offset(start)])
        return slice(a, int(self._day_start[self._offset(end)]))

    def _count(self, codes: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(codes, weights, minlength=self.n)

    def _sum(self, codes: np.ndarray, values: np.ndarray, step: float) -> np.ndarray:
        """Sums of ``values`` per code, exact to the last bit in any order.

        Each value is split into ``hi + lo``, both exact: ``hi`` on the grid of ``step``
        (:func:`_grid`), so that any sum of its entries is exact, and ``lo`` below half a step.
        The values go :data:`_CHUNK` at a time through one small work array: the ``hi`` sums of
        the chunks add up exactly, and the ``lo`` parts are added in the order of the values
        (:func:`numpy.add.at`), as one :func:`numpy.bincount` over all of them adds them.
        """
        if step == 0:
            return self._count(codes, values) + 0.0
        hi, lo = np.zeros(self.n), np.zeros(self.n)
        for i in range(0, len(values), _CHUNK):
            c, x = codes[i : i + _CHUNK], values[i : i + _CHUNK]
            part = x / step
            np.rint(part, out=part)
            part *= step  # hi
            hi += self._count(c, part)
            np.subtract(x, part, out=part)  # lo
            np.add.at(lo, c, part)
        return hi + lo

    def _count_where(self, codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Entries per code (where ``mask`` holds), int64, :data:`_CHUNK` entries at a time: counts
        add up exactly, and no copy of the codes (:func:`numpy.bincount` makes one of codes
        narrower than its index type) is as long as the window."""
        out = np.zeros(self.n, dtype=np.int64)
        for i in range(0, len(codes), _CHUNK):
            part = codes[i : i + _CHUNK]
            out += self._count(part if mask is None else part[mask[i : i + _CHUNK]])
        return out

    def forget(self, cutoff: int) -> None:
        """Drop the snapshot kept for ``cutoff`` (:meth:`snapshot`), once a study is done with it.

        Parameters
        ----------
        cutoff : int
            Day number (:func:`day_number`); a cutoff without a snapshot is ignored.
        """
        self._snapshots.pop(int(cutoff), None)

    def sales(self, start: int | None, end: int) -> np.ndarray:
        """Net sales per customer code of the lines dated in [start, end).

        Parameters
        ----------
        start : int or None
            First day number (None: from the first line).
        end : int
            Day number after the window.

        Returns
        -------
        ndarray
            float64, one entry per customer code.
        """
        w = self._lines(start, end)
        return self._sum(self._code[w], self._amount[w], self._amount_grid)

    def lines(self, start: int | None, end: int) -> np.ndarray:
        """Lines per customer code dated in [start, end).

        Parameters
        ----------
        start : int or None
            First day number (None: from the first line).
        end : int
            Day number after the window.

        Returns
        -------
        ndarray
            int64, one entry per customer code.
        """
        return self._count_where(self._code[self._lines(start, end)])

    def purchase_days(self, start: int | None, end: int) -> np.ndarray:
        """Distinct purchase days per customer code in [start, end).

        Parameters
        ----------
        start : int or None
            First day number (None: from the first purchase).
        end : int
            Day number after the window.

        Returns
        -------
        ndarray
            int64, one entry per customer code.
        """
        inside = self._buy_off < self._offset(end)
        if start is not None:
            inside &= self._buy_off >= self._offset(start)
        return self._count_where(self._buy_code, inside)

    def snapshot(self, cutoff: int) -> CustomerSnapshot:
        """Per-customer sums of everything dated before the day ``cutoff`` (computed once per cutoff).

        Parameters
        ----------
        cutoff : int
            Day number (:func:`day_number`).

        Returns
        -------
        CustomerSnapshot
        """
        cutoff = int(cutoff)
        if cutoff not in self._snapshots:
            self._snapshots[cutoff] = self._snapshot(cutoff)
        return self._snapshots[cutoff]

    def _snapshot(self, cutoff: int) -> CustomerSnapshot:
        # one part after the other, each freeing its arrays: first the purchase days ...
        k = self._offset(cutoff)
        if k >= self._span:  # every purchase is before the cutoff: no copy
            bc, bd = self._buy_code, self._buy_off
        else:
            before = self._buy_off < k
            bc, bd = self._buy_code[before], self._buy_off[before]
            del before
        first, last = np.full(self.n, -1, np.int64), np.full(self.n, -1, np.int64)
        if len(bc):
            starts = np.flatnonzero(np.r_[True, bc[1:] != bc[:-1]])
            ends = np.r_[starts[1:], len(bc)] - 1
            first[bc[starts]] = bd[starts].astype(np.int64) + self._first
            last[bc[ends]] = bd[ends].astype(np.int64) + self._first
            del starts, ends
        frequency = self._count_where(bc)
        gap_sq_sum = self._gap_sq_sum(bc, bd)
        del bc, bd
        # ... then the lines
        w = self._lines(None, cutoff)
        code, amount = self._code[w], self._amount[w]
        monetary = self._sum(code, amount, self._amount_grid)
        ret = amount < 0
        code_ret, amount_ret = code[ret], amount[ret]
        del ret
        returns_amount = 0.0 - self._sum(code_ret, amount_ret, self._amount_grid)
        n_returns = self._count_where(code_ret)
        del code_ret, amount_ret
        if self.has_cost:
            profit = self._sum(code, self._profit[w], self._profit_grid)
            # a count is the same number as the sum of as many 1.0 weights
            cost_lines = self._count_where(code, self._cost_known[w]).astype("float64")
            profit = np.where(cost_lines > 0, profit, np.nan)
        else:
            profit, cost_lines = np.full(self.n, np.nan), np.zeros(self.n)
        return CustomerSnapshot(
            cutoff=int(cutoff),
            frequency=frequency,
            first_day=first,
            last_day=last,
            monetary=monetary,
            returns_amount=returns_amount,
            n_returns=n_returns,
            gross_profit=profit,
            cost_lines=cost_lines,
            gap_sq_sum=gap_sq_sum,
        )

    def _gap_sq_sum(self, bc: np.ndarray, bd: np.ndarray) -> np.ndarray:
        """Sum per code of the squared gaps between its consecutive purchase days (``bc``, ``bd``
        sorted by code then day), :data:`_CHUNK` pairs at a time: the squares are whole numbers
        far below 2**53, so their float sums are exact in any order."""
        out = np.zeros(self.n)
        for i in range(0, max(len(bc) - 1, 0), _CHUNK):
            c, d = bc[i : i + _CHUNK + 1], bd[i : i + _CHUNK + 1]
            same = c[1:] == c[:-1]
            # consecutive days of one customer increase: their difference fits the offsets' dtype
            gap = (d[1:] - d[:-1])[same].astype("float64")
            gap *= gap
            out += self._count(c[1:][same], gap)
        return out
