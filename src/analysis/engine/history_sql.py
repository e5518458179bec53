"""The churn study's transaction windows as SQL on DuckDB or Spark.

:class:`SqlHistory` answers what :class:`analysis.churn.history.TransactionHistory` answers --
the customer ids, sales, lines and purchase days of any window, the snapshot of everything
before a cutoff -- with the same arrays (aligned on the customer codes, the positions in
the sorted ids), but by SQL over the lines where they are: nothing is sorted or held in numpy
beyond one array per customer and window.  :func:`analysis.churn.features.history_for` hands a
study to it when :func:`analysis.engine.windows.engine_for` says ``"spark"`` (on DuckDB the
numpy class was twice as fast at 10M lines, see there).

The rules are those of the numpy class: lines without a customer id or a date are left out, a
blank amount counts as zero, a purchase is a line with amount > 0, frequency counts distinct
purchase days, returns are the negative lines, gross profit sums amount - cost over the lines
with both (NaN when none has), days are whole days since 1970-01-01 (times floored, as
:data:`analysis.engine.aggregate.DAY_EXPR` gives them) and windows are ``[start, end)`` in days.
Money is summed as DECIMAL(38, 10) (:func:`~analysis.engine.windows.exact_sum`): exact in any
order, within 1e-9 (relative) of the numpy class's exact sums.

A study asks for the same windows around each cutoff (the trend periods, the trailing year, the
label window).  Each call is one query (:func:`~analysis.engine.windows.run_on`); the windows
asked around one cutoff are remembered as offsets from it, and the snapshot of a later cutoff
fetches them in its own query, so a study's second and third cutoffs cost one scan each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.churn.history import CustomerSnapshot
from analysis.data.lookup import positions
from analysis.data.validation import DataError
from analysis.engine.aggregate import DAY_EXPR, ts_literal
from analysis.engine.windows import SqlLines, engine_for, exact_sum, run_on

__all__ = ["SqlHistory", "sql_ready"]

_EPOCH = pd.Timestamp("1970-01-01")
#: the snapshot's columns in the query's result, and their value for a customer without a row
_SNAPSHOT = {
    "monetary": 0.0,
    "returns_sum": 0.0,
    "n_returns": 0,
    "gross_profit": np.nan,
    "cost_lines": 0.0,
    "frequency": 0,
    "first_day": -1,
    "last_day": -1,
    "gap_sq_sum": 0.0,
}
#: windows remembered around a cutoff at most (a study asks for six)
_MAX_PATTERN = 16


def sql_ready(tx: pd.DataFrame, *, id_col: str = "customer_id", date_col: str = "date") -> bool:
    """Whether SQL sees these lines as :class:`~analysis.churn.history.TransactionHistory` does.

    The ids must be text or integers (SQL would meet a float id's NaN against NULL, and a
    categorical or mixed column has pandas' own rules), the dates a time without a zone.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    id_col, date_col : str
        Column names.

    Returns
    -------
    bool
    """
    if id_col not in tx.columns or date_col not in tx.columns:
        return False
    ids, dates = tx[id_col], tx[date_col].dtype
    if isinstance(ids.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(ids.dtype):
        return False
    text = isinstance(ids.dtype, pd.StringDtype) or (
        ids.dtype == object and pd.api.types.infer_dtype(ids, skipna=True) in ("string", "empty")
    )
    naive = pd.api.types.is_datetime64_dtype(dates) and not isinstance(dates, pd.DatetimeTZDtype)
    return (text or pd.api.types.is_integer_dtype(ids.dtype)) and naive


def _time(day: int) -> str:
    """Midnight at the start of day number ``day``, as an SQL literal."""
    return ts_literal(_EPOCH + pd.Timedelta(days=int(day)))


@dataclass(frozen=True)
class _Window:
    kind: str  # "sales", "lines" or "purchase_days"
    start: int | None
    end: int

    @property
    def name(self) -> str:
        return f"w_{self.kind}_{'all' if self.start is None else self.start}_{self.end}".replace(
            "-", "m"
        )


class SqlHistory:
    """Transaction lines summed per customer over windows by SQL (DuckDB or Spark).

    The interface and the arrays of :class:`~analysis.churn.history.TransactionHistory`:
    ``ids``, ``n``, ``has_cost``, :meth:`sales`, :meth:`lines`, :meth:`purchase_days` and
    :meth:`snapshot` (computed once per cutoff).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (kept, not copied: every query reads them).
    engine : {"duckdb", "spark"}, optional
        Where the queries run; by default Spark when
        :func:`~analysis.engine.windows.engine_for` says so, else DuckDB.
    id_col, date_col, amount_col, cost_col : str
        Column names; a missing ``cost_col`` leaves gross profit unknown.

    Attributes
    ----------
    ids : Index
        Customer ids in sorted order, named ``customer_id``; a customer's code is its position.
    n : int
        Number of customers.
    has_cost : bool
        Whether the lines have a cost column.
    engine : str
        ``"duckdb"`` or ``"spark"``.
    """

    def __init__(
        self,
        tx: pd.DataFrame,
        *,
        engine: str | None = None,
        id_col: str = "customer_id",
        date_col: str = "date",
        amount_col: str = "amount",
        cost_col: str = "cost",
    ):
        for col in (id_col, date_col, amount_col):
            if col not in tx.columns:
                raise DataError(f"Required column {col} missing from transactions")
        if engine is None:
            engine = "spark" if engine_for(tx) == "spark" else "duckdb"
        if engine not in ("duckdb", "spark"):
            raise ValueError(f"unknown SQL engine {engine!r}; expected duckdb or spark")
        self.engine = engine
        self.has_cost = cost_col in tx.columns
        self._tx, self._id, self._date = tx, id_col, date_col
        self._amount, self._cost = amount_col, cost_col
        # the same columns in every query: Spark copies a frame's lines once per column list
        self._columns = [id_col, date_col, amount_col] + ([cost_col] if self.has_cost else [])
        self._snapshots: dict[int, CustomerSnapshot] = {}
        self._ahead: dict[_Window, np.ndarray] = {}  # windows fetched with a snapshot
        self._pattern: set[tuple[str, int | None, int]] = set()  # (kind, start, end) - cutoff
        self._last_cutoff: int | None = None
        # the distinct ids, numbered in sorted order as the numpy class numbers them
        raw = self._run(
            lambda s: (
                f"SELECT DISTINCT {self._i(s)} AS ccm_id FROM {s.source} "
                f"WHERE {self._i(s)} IS NOT NULL"
            )
        )
        found = pd.Index(raw["ccm_id"])
        self.ids = pd.Index(found.take(np.argsort(found)).tolist(), name="customer_id")
        self.n = len(self.ids)

    # ------------------------------------------------------------------ SQL
    def _i(self, s: SqlLines) -> str:
        return s.q(self._id)

    def _run(self, render) -> pd.DataFrame:
        return run_on(
            self.engine, self._tx, self._columns, self._date, lambda s: s.frame(render(s))
        )

    def _query(self, s: SqlLines, cutoff: int | None, wins: list[_Window]) -> str:
        """One pass over the lines for the snapshot at ``cutoff`` (None: no snapshot) and the
        windows ``wins``: per customer, the money and line counts from the lines, the purchase
        days (and their gaps) from the distinct (customer, day) pairs with a purchase."""
        i, d = self._i(s), s.q(self._date)
        # the lines read: from the earliest start (none for a snapshot) to the latest end
        starts = [w.start for w in wins] + ([None] if cutoff is not None else [])
        first = None if None in starts else min(starts)
        last = max([w.end for w in wins] + ([cutoff] if cutoff is not None else []))
        bounds = f"{d} < {_time(last)}" + ("" if first is None else f" AND {d} >= {_time(first)}")

        def when(col: str, start: int | None, end: int, expr: str, *more: str) -> str:
            """``expr`` for the lines with ``col`` in [start, end) (a time against midnights,
            or a day number) and the conditions ``more``; no CASE where every line read is."""
            lit = _time if col == "ccm_d" else str
            conds = [f"{col} < {lit(end)}"] if end < last else []
            if start is not None and (first is None or start > first):
                conds.append(f"{col} >= {lit(start)}")
            conds += more
            return f"CASE WHEN {' AND '.join(conds)} THEN {expr} END" if conds else expr

        money: dict[str, str] = {}  # alias -> aggregate over the lines
        buys: dict[str, str] = {}  # alias -> aggregate over the purchase days
        if cutoff is not None:
            money.update(
                monetary=exact_sum(when("ccm_d", None, cutoff, "ccm_a")),
                returns_sum=exact_sum(when("ccm_d", None, cutoff, "ccm_a", "ccm_a < 0")),
                n_returns=f"COUNT({when('ccm_d', None, cutoff, '1', 'ccm_a < 0')})",
                gross_profit=exact_sum(when("ccm_d", None, cutoff, "ccm_gp")),
                cost_lines=f"COUNT({when('ccm_d', None, cutoff, 'ccm_gp')})",
            )
            buys.update(
                frequency=f"COUNT({when('ccm_day', None, cutoff, '1')})",
                first_day=f"MIN({when('ccm_day', None, cutoff, 'ccm_day')})",
                last_day=f"MAX({when('ccm_day', None, cutoff, 'ccm_day')})",
                # the day before a purchase day before the cutoff is before it too
                gap_sq_sum=f"SUM({when('ccm_day', None, cutoff, 'ccm_gap * ccm_gap')})",
            )
        for w in wins:
            if w.kind == "purchase_days":
                buys[w.name] = f"COUNT({when('ccm_day', w.start, w.end, '1')})"
            elif w.kind == "sales":
                money[w.name] = exact_sum(when("ccm_d", w.start, w.end, "ccm_a"))
            else:
                money[w.name] = f"COUNT({when('ccm_d', w.start, w.end, '1')})"
        parts = []
        if money:
            gp = "CAST(NULL AS DOUBLE)"
            if self.has_cost:  # as customer_summary.sql's gross profit
                gp = f"CAST({s.q(self._amount)} AS DOUBLE) - CAST({s.q(self._cost)} AS DOUBLE)"
            aggs = ", ".join(f"{expr} AS {alias}" for alias, expr in money.items())
            parts.append(f"""(
                SELECT ccm_id, {aggs} FROM (
                    SELECT {i} AS ccm_id, {d} AS ccm_d, CAST({s.q(self._amount)} AS DOUBLE) AS ccm_a,
                           {gp} AS ccm_gp
                    FROM {s.source} WHERE {i} IS NOT NULL AND {bounds}
                ) AS ccm_lines GROUP BY ccm_id
            ) AS m""")
        if buys:
            # the gaps: a window function over the distinct (customer, day) pairs
            gap = "ccm_day - LAG(ccm_day) OVER (PARTITION BY ccm_id ORDER BY ccm_day)"
            aggs = ", ".join(f"{expr} AS {alias}" for alias, expr in buys.items())
            day = DAY_EXPR[s.dialect].format(date=d)
            parts.append(f"""(
                SELECT ccm_id, {aggs} FROM (
                    SELECT ccm_id, ccm_day, {gap if cutoff is not None else "0"} AS ccm_gap
                    FROM (
                        SELECT DISTINCT {i} AS ccm_id, {day} AS ccm_day FROM {s.source}
                        WHERE {i} IS NOT NULL AND {s.q(self._amount)} > 0 AND {bounds}
                    ) AS ccm_pairs
                ) AS ccm_days GROUP BY ccm_id
            ) AS p""")
        if len(parts) == 1:
            return f"SELECT * FROM {parts[0]}"
        # every customer with a purchase has a line in the same bounds
        return (
            f"SELECT m.ccm_id, {', '.join([*money, *buys])} "
            f"FROM {parts[0]} LEFT JOIN {parts[1]} ON p.ccm_id = m.ccm_id"
        )

    def _fetch(self, cutoff: int | None, wins: list[_Window]) -> dict:
        """Run :meth:`_query` and spread its rows onto the customer codes."""
        raw = self._run(lambda s: self._query(s, cutoff, wins))
        at = positions(raw["ccm_id"], self.ids)
        if (at < 0).any():  # pragma: no cover - every id of a result is one of self.ids
            raise RuntimeError("a query gave a customer id missing from the ids")
        out = {}
        columns = dict(_SNAPSHOT) if cutoff is not None else {}
        columns.update({w.name: 0.0 if w.kind == "sales" else 0 for w in wins})
        for name, empty in columns.items():
            dtype = "float64" if isinstance(empty, float) else "int64"
            values = raw[name].astype("float64").to_numpy()
            filled = np.full(self.n, empty, dtype=dtype)
            known = ~np.isnan(values)
            filled[at[known]] = values[known]
            out[name] = filled
        return out

    def _window(self, kind: str, start: int | None, end: int) -> np.ndarray:
        start = None if start is None else int(start)
        w = _Window(kind, start, int(end))
        if self._last_cutoff is not None and len(self._pattern) < _MAX_PATTERN:
            c = self._last_cutoff
            self._pattern.add((kind, None if start is None else start - c, w.end - c))
        got = self._ahead.pop(w, None)
        if got is None:
            got = self._fetch(None, [w])[w.name]
        return got

    # ------------------------------------------------------------------ windows
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
        return self._window("sales", start, end)

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
        return self._window("lines", start, end)

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
        return self._window("purchase_days", start, end)

    def snapshot(self, cutoff: int) -> CustomerSnapshot:
        """Per-customer sums of everything dated before the day ``cutoff`` (computed once per
        cutoff), with the windows asked around earlier cutoffs fetched in the same query.

        Parameters
        ----------
        cutoff : int
            Day number (:func:`~analysis.churn.history.day_number`).

        Returns
        -------
        CustomerSnapshot
        """
        cutoff = int(cutoff)
        self._last_cutoff = cutoff
        if cutoff not in self._snapshots:
            self._snapshots[cutoff] = self._snapshot(cutoff)
        return self._snapshots[cutoff]

    def _snapshot(self, cutoff: int) -> CustomerSnapshot:
        wins = sorted(
            {
                _Window(k, None if s is None else cutoff + s, cutoff + e)
                for k, s, e in self._pattern
            },
            key=lambda w: w.name,
        )
        got = self._fetch(cutoff, wins)
        self._ahead = {w: got[w.name] for w in wins}  # what the study asks next, or dropped
        profit = got["gross_profit"] if self.has_cost else np.full(self.n, np.nan)
        cost_lines = got["cost_lines"]
        return CustomerSnapshot(
            cutoff=cutoff,
            frequency=got["frequency"],
            first_day=got["first_day"],
            last_day=got["last_day"],
            monetary=got["monetary"],
            returns_amount=0.0 - got["returns_sum"],
            n_returns=got["n_returns"],
            gross_profit=np.where(cost_lines > 0, profit, np.nan),
            cost_lines=cost_lines,
            gap_sq_sum=got["gap_sq_sum"],
        )
