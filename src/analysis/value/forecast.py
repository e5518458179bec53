"""Customer value forecast (客户价值预测): next year's purchases, sales and gross profit per customer.

The sources value a customer twice: current value (现实价值, what it brings
now) and potential value (潜在价值, what it may bring).  This module forecasts
the second from the transactions, for every active customer over a horizon
(default 365 days), and chooses the forecasting model on a backtest only.

Candidates
----------
``bgnbd_gg``
    BG/NBD purchases (Fader, Hardie & Lee 2005, :class:`analysis.churn.bgnbd.BetaGeoModel`)
    × Gamma-Gamma spend per purchase day (Fader, Hardie & Lee 2005, "RFM and
    CLV"), both fitted by maximum likelihood on the history before the cutoff.
``gradient_boosting``
    Gradient-boosted trees (scikit-learn) on recency, frequency, monetary value,
    tenure, trend and margin features, trained on an earlier window whose
    target is the spend that followed it.  Poisson loss with the run rate as
    exposure: the trees learn a multiplier on the run rate, and the prediction
    is a mean, so sums per class add up.
``run_rate``
    The naive baseline: net sales per day over the last ``lookback_days`` ×
    the horizon (repeat last year).

Backtest (回测)
---------------
For a forecast at ``as_of`` and horizon ``h`` the backtest cutoff is
``c = as_of - h``: every candidate sees only lines dated before ``c`` and
predicts each active customer's net sales in ``[c, c + h)``.  The boosted
trees learn on ``c - h_t`` (features) and ``[c - h_t, c)`` (target, scaled by
``h / h_t``), where ``h_t = min(h, history before c / 2)``, so nothing after
``c`` is used.  The metrics per customer are MAE, RMSE, Spearman's rank
correlation, top-decile capture (share of the holdout sales bought by the
predicted top 10%) and total bias (predicted ÷ actual − 1).  The chosen model is
the best on MAE among the candidates that beat the run-rate baseline on both
MAE and top-decile capture; when none does, the baseline is used and the
report says so.

Definitions
-----------
A purchase day is a day with at least one line of positive amount (several
lines on one day are one purchase, as in the churn page); sales are net of
returns.  A customer is active when it bought within ``active_days`` before the
cutoff.  Gross profit = expected sales × the customer's historical gross margin
rate (lines with cost, all history before the cutoff); NaN without cost.  The
interval (``sales_low``, ``sales_high``) comes from the backtest: within each
decile of the chosen model's prediction, the quantiles of actual ÷ predicted
sales, applied to today's prediction in the same decile.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1
from scipy.stats import spearmanr
from threadpoolctl import threadpool_limits

from analysis.churn.bgnbd import BetaGeoModel
from analysis.classify.classes import ABC_CLASSES, abc_classes, header, label_values
from analysis.classify.scorecard import percentile_score
from analysis.data.validated import shared_result
from analysis.data.validation import DataError, require_columns
from analysis.engine.forecast_sql import customer_days, days_sql_ready
from analysis.engine.windows import engine_for
from analysis.viz.labels import label, label_or
from analysis.viz.style import axes, money_axis

__all__ = [
    "CANDIDATES",
    "BASELINE",
    "METRICS",
    "FEATURES",
    "GammaGammaModel",
    "BetaGeoGammaGamma",
    "Backtest",
    "ValueForecast",
    "bgnbd_expected_purchases",
    "customer_features",
    "holdout_sales",
    "backtest",
    "forecast",
    "score_metrics",
    "top_decile_capture",
    "choose_model",
    "decile_table",
    "class_forecast",
    "class_moves",
    "develop_list",
    "watch_list",
    "potential_value",
    "metrics_table",
    "verdict",
    "plot_deciles",
    "simulate_transactions",
    "model_name",
    "history_gap",
    "windows_table",
    "move_matrix",
    "params_table",
    "moves_note",
    "staff_table",
    "STAFF_COLUMNS",
    "customer_forecast",
    "LIST_COLUMNS",
    "move_counts",
]

CANDIDATES = ("bgnbd_gg", "gradient_boosting", "run_rate")
BASELINE = "run_rate"
METRICS = ("mae", "rmse", "spearman", "top_decile_capture", "bias")
#: features of the boosted trees (columns of :func:`customer_features`)
FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "sales_lookback",
    "days_lookback",
    "sales_last",
    "sales_prev",
    "days_last",
    "days_prev",
    "avg_value",
    "margin_rate",
    "net_ratio",
)
WEEK = 7.0  # BG/NBD runs in weeks, as the churn page and the literature's CDNOW figures
MIN_TRAIN_DAYS = 28  # the boosted trees need at least four weeks of target window


# ------------------------------------------------------------------ data preparation
@dataclass(frozen=True)
class _Days:
    """Customer-day totals sorted by (customer code, day); days are integers since 1970-01-01."""

    ids: pd.Index
    code: np.ndarray
    day: np.ndarray
    net: np.ndarray  # net sales of the day (returns included)
    gross: np.ndarray  # positive lines only: the purchase value of the day
    gp: np.ndarray  # amount - cost over the lines with a cost
    costed: np.ndarray  # amount of the lines with a cost (margin denominator)
    buy: np.ndarray  # the day has a line of positive amount
    has_cost: bool


def _to_day(value) -> int:
    return int(pd.Timestamp(value).normalize().value // 86_400_000_000_000)


def _from_day(day: int) -> pd.Timestamp:
    return pd.Timestamp(day, unit="D")


#: engines whose SQL makes the customer-day totals (see :func:`_prepare`)
_DAYS_ON = {"spark": True, "duckdb": False}


def _prepare(
    tx: pd.DataFrame, *, id_col: str, date_col: str, amount_col: str, cost_col: str
) -> _Days:
    """The lines as totals per customer and day: numpy, or SQL on Spark
    (:func:`analysis.engine.forecast_sql.customer_days`, the same totals) whenever
    :func:`analysis.engine.windows.engine_for` says ``"spark"`` and the lines suit SQL
    (:func:`~analysis.engine.forecast_sql.days_sql_ready`).  Blank ids, dates or amounts are an
    error on either path (checked here first).

    DuckDB keeps numpy: on 10M lines (500,000 customers, 8.3M customer-days: the grouping
    hardly shrinks them) this pass took 5.4 s in numpy and 19.9 s by DuckDB, and a whole
    :func:`forecast` as page 08 calls it 24.9 s against 52.2 s (the same forecast within
    1e-13 relative), one run each with a load of about 4-5 on 2 cores."""
    require_columns(tx, [id_col, date_col, amount_col], "the transactions")
    if not pd.api.types.is_datetime64_any_dtype(tx[date_col]):
        raise DataError(f"column {date_col!r} of the transactions must hold dates", column=date_col)
    amount = tx[amount_col].to_numpy(dtype="float64", na_value=np.nan)
    dates = tx[date_col]
    bad = np.flatnonzero(dates.isna().to_numpy() | np.isnan(amount) | tx[id_col].isna().to_numpy())
    if bad.size:
        raise DataError(
            f"transactions have a blank customer, date or amount in {bad.size} rows "
            f"(first: row {int(bad[0])})",
            column=amount_col,
        )
    cols = dict(id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
    engine = engine_for(tx)
    if _DAYS_ON.get(engine) and days_sql_ready(tx, **cols):
        return _Days(**customer_days(engine, tx, **cols))
    code, uniques = pd.factorize(tx[id_col], sort=True)
    # one line-level int64 array at a time: factorize's own codes become the key in place, and
    # every line-level temporary is dropped as soon as it is used (issue 14: 10M lines, each array
    # 80 MB); the sums are numpy's as before, in the same order
    key = np.require(code, np.int64, ["C", "W", "O"])
    del code
    day = dates.to_numpy().astype("datetime64[D]").view(np.int64)
    d0 = int(day.min()) if len(day) else 0
    span = int(day.max()) - d0 + 1 if len(day) else 1
    day -= d0
    key *= span
    key += day
    del day
    uniq, inv = _unique_inverse_of(key)  # the inverse reuses the key's buffer
    del key
    k = len(uniq)
    has_cost = cost_col in tx.columns
    cost = tx[cost_col].to_numpy(dtype="float64", na_value=np.nan) if has_cost else None
    with_cost = None if cost is None else ~np.isnan(cost)
    costed = bool(has_cost and with_cost.any())
    net = np.bincount(inv, weights=amount, minlength=k)
    w = np.zeros(len(amount))  # one weight buffer for the three masked sums
    np.copyto(w, amount, where=amount > 0)
    gross = np.bincount(inv, weights=w, minlength=k)
    if costed:
        w[:] = 0.0
        # amount - cost where the cost is known (np.nan_to_num's value for an infinite cost)
        np.subtract(amount, _finite(cost), out=w, where=with_cost)
        gp = np.bincount(inv, weights=w, minlength=k)
        w[:] = 0.0
        np.copyto(w, amount, where=with_cost)
        cost_sum = np.bincount(inv, weights=w, minlength=k)
    else:
        gp, cost_sum = np.zeros(k), np.zeros(k)
    del w, inv, with_cost, cost
    code_out = uniq // span
    uniq %= span
    uniq += d0  # the day, in uniq's own buffer
    return _Days(
        ids=pd.Index(uniques),
        code=code_out,
        day=uniq,
        net=net,
        gross=gross,
        gp=gp,
        costed=cost_sum,
        buy=gross > 0,  # a line of positive amount: its sum is positive
        has_cost=costed,
    )


def _finite(values: np.ndarray) -> np.ndarray:
    """``values`` with infinities as ``np.nan_to_num`` makes them (NaN kept); the same array when finite."""
    if not np.isinf(values).any():
        return values
    return np.where(np.isnan(values), np.nan, np.nan_to_num(values))


def _digit(key: np.ndarray, shift: int) -> np.ndarray:
    """The 16-bit digit of non-negative int64 ``key`` at bit ``shift``: a strided view of the key's own
    bytes where the machine is little-endian (no 80 MB temporaries at 10M keys), else computed."""
    if (
        key.dtype == np.int64
        and key.dtype.byteorder in "=<"
        and np.little_endian
        and key.flags.c_contiguous
    ):
        return key.view(np.uint16)[shift // 16 :: 4]
    return ((key >> shift) & 0xFFFF).astype(np.uint16)


def _radix_order(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` for non-negative integer keys under 2**48, by 16-bit radix
    passes (``np.argsort(kind="stable")`` on 16-bit integers is a radix sort): 10 million keys of
    under 32 bits in two linear passes instead of one comparison sort."""
    order = None
    for shift in range(0, max(int(key.max()).bit_length(), 1), 16):
        digit = _digit(key, shift)
        if order is None:
            order = np.argsort(digit, kind="stable")
        else:
            step = np.argsort(digit[order], kind="stable")
            order = order[step]
            del step
    return order


def _unique_inverse(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for non-negative integer keys, sorted by 16-bit radix
    passes (:func:`_radix_order`)."""
    return _unique_inverse_of(key.copy())


def _unique_inverse_of(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_unique_inverse` that may reuse or free ``key``'s buffer (the caller's copy; it must not
    read it after): the sorted keys, their runs and the inverse share two buffers of the key's size."""
    if len(key) == 0 or key.max() >= 2**48:
        return np.unique(key, return_inverse=True)
    order = _radix_order(key)
    run = key[order]  # the sorted keys
    new = np.empty(len(run), bool)
    new[0] = True
    np.not_equal(run[1:], run[:-1], out=new[1:])
    uniq = run[new]
    np.cumsum(new, out=run)  # the run number of each sorted key, from 1
    del new
    run -= 1
    inv = key  # the key's buffer (no longer read) takes the inverse
    inv[order] = run
    return uniq, inv


def _window_sum(d: _Days, values: np.ndarray, lo: int | None, hi: int) -> np.ndarray:
    return _window_sums(d, (values,), lo, hi)[0]


def _window_sums(d: _Days, values, lo: int | None, hi: int, *, mask=None) -> list[np.ndarray]:
    """Per customer code, the sums of each of ``values`` over the days in ``[lo, hi)`` (one mask for all).

    A boolean array is counted (its True days), as a float: the same numbers as summing it as 0.0
    and 1.0, without a float copy of it."""
    m = mask if mask is not None else d.day < hi if lo is None else (d.day >= lo) & (d.day < hi)
    code = d.code[m]
    n = len(d.ids)
    return [
        np.bincount(code[v[m]], minlength=n).astype(np.float64)
        if v.dtype == bool
        else np.bincount(code, weights=v[m], minlength=n)
        for v in values
    ]


def _features(
    d: _Days, cutoff: int, *, lookback_days: int, active_days: int | None
) -> pd.DataFrame:
    """One row per customer with a purchase day before ``cutoff`` (days), indexed by customer code."""
    n = len(d.ids)
    before = d.day < cutoff
    buy = d.buy & before
    # the purchase days by position: their codes, and days and values only where used (issue 14:
    # no subset of every customer-day column kept through the function)
    at = np.flatnonzero(buy)
    cb = d.code[at]
    freq = np.bincount(cb, minlength=n)
    if cb.size == 0:
        return pd.DataFrame(columns=["customer_id", *FEATURES])
    starts = np.r_[0, np.flatnonzero(cb[1:] != cb[:-1]) + 1]
    ends = np.r_[starts[1:] - 1, cb.size - 1]
    first, last, first_value = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n)
    first[cb[starts]], last[cb[ends]] = d.day[at[starts]], d.day[at[ends]]
    first_value[cb[starts]] = d.gross[at[starts]]
    gross = np.bincount(cb, weights=d.gross[at], minlength=n)
    del at, cb, starts, ends
    start = int(np.min(d.day, where=before, initial=cutoff))  # the first day before the cutoff
    look = max(1, min(lookback_days, cutoff - start))
    half = max(1, look // 2)
    if d.has_cost:
        net, gp, costed = _window_sums(d, (d.net, d.gp, d.costed), None, cutoff, mask=before)
    else:
        (net,), gp, costed = _window_sums(d, (d.net,), None, cutoff, mask=before), None, None
    del before
    sales_look, days_look = _window_sums(d, (d.net, buy), cutoff - look, cutoff)
    sales_last, days_last = _window_sums(d, (d.net, buy), cutoff - half, cutoff)
    sales_prev, days_prev = _window_sums(d, (d.net, buy), cutoff - 2 * half, cutoff - half)
    keep = np.flatnonzero(freq > 0)
    f = freq[keep].astype("float64")
    x = f - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "customer_id": d.ids[keep],
                "frequency": freq[keep],
                "x": x,
                "recency_days": cutoff - last[keep],
                "tenure_days": cutoff - first[keep],
                "t_x_days": last[keep] - first[keep],
                "monetary": net[keep],
                "gross": gross[keep],
                "avg_value": gross[keep] / f,
                "repeat_value": np.where(
                    x > 0, (gross[keep] - first_value[keep]) / np.maximum(x, 1), np.nan
                ),
                "sales_lookback": sales_look[keep],
                "days_lookback": days_look[keep],
                "sales_last": sales_last[keep],
                "sales_prev": sales_prev[keep],
                "days_last": days_last[keep],
                "days_prev": days_prev[keep],
                "margin_rate": np.where(costed[keep] > 0, gp[keep] / costed[keep], np.nan)
                if d.has_cost
                else np.nan,
                "net_ratio": np.clip(
                    np.where(gross[keep] > 0, net[keep] / gross[keep], 0.0), 0.0, 1.0
                ),
            },
            index=keep,
        )
    active = (
        np.ones(len(keep), bool)
        if active_days is None
        else out["recency_days"].to_numpy() <= active_days
    )
    return out.assign(active=active, lookback_days=look)


def customer_features(
    tx: pd.DataFrame,
    cutoff,
    *,
    lookback_days: int = 365,
    active_days: int | None = 365,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> pd.DataFrame:
    """The forecast's features as of ``cutoff``, from the lines dated before it only.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines (``id_col``, ``date_col``, ``amount_col``, optional ``cost_col``).
    cutoff : date-like
        Lines dated on or after it are ignored.
    lookback_days : int
        Window of the run rate (``sales_lookback``, ``days_lookback``); its two
        halves give ``sales_last``/``sales_prev`` (trend).  Shortened to the history
        before the cutoff when that is shorter (``lookback_days`` column).
    active_days : int or None
        ``active`` is True when the last purchase is at most this many days
        before the cutoff (None: always).

    Returns
    -------
    DataFrame
        One row per customer with a purchase day before the cutoff: customer_id,
        frequency (purchase days), x (repeat purchase days), recency_days,
        tenure_days, t_x_days (last - first purchase day), monetary (net sales),
        gross (purchase value), avg_value, repeat_value, sales_lookback,
        days_lookback, sales_last, sales_prev, days_last, days_prev,
        margin_rate, net_ratio (net ÷ purchase value, in [0, 1]), active,
        lookback_days.
    """
    d = _prepare(tx, id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
    return _features(
        d, _to_day(cutoff), lookback_days=lookback_days, active_days=active_days
    ).reset_index(drop=True)


def holdout_sales(
    tx: pd.DataFrame,
    start,
    end,
    *,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
) -> pd.Series:
    """Net sales per customer in ``[start, end)`` (index: customer id).

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    start, end : date-like
        The half-open window.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).

    Returns
    -------
    Series
        ``actual`` per customer.
    """
    require_columns(tx, [id_col, date_col, amount_col], "the transactions")
    d = tx[date_col]
    rows = tx[(d >= pd.Timestamp(start)) & (d < pd.Timestamp(end))]
    return rows[amount_col].astype("float64").groupby(rows[id_col]).sum().rename("actual")


# ------------------------------------------------------------------ BG/NBD x Gamma-Gamma
def bgnbd_expected_purchases(params: dict, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] of the BG/NBD model (Fader, Hardie & Lee 2005, eq. 10).

    The Gauss hypergeometric term is taken through Euler's transformation,
    ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``,
    whose first two arguments do not grow with x: the direct form overflows for
    frequent buyers.

    Parameters
    ----------
    params : dict
        Fitted r, alpha, a, b.
    t : float
        The horizon (weeks).
    x, t_x, T : array-like
        Repeat purchases, age at the last purchase and age at the cutoff (weeks).

    Returns
    -------
    ndarray
        Expected purchases per customer.
    """
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    t, x, t_x, T = (np.asarray(v, dtype="float64") for v in (t, x, t_x, T))
    w = (alpha + T) / (alpha + T + t)
    bracket = 1.0 - w ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, 1.0 - w)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        odds = np.where(
            x > 0,
            a
            / np.maximum(b + x - 1, 1e-12)
            * np.exp(np.minimum((r + x) * np.log((alpha + T) / (alpha + t_x)), 700)),
            0.0,
        )
    return (a + b + x - 1) / (a - 1) * bracket / (1.0 + odds)


def _gg_nll(logp, n, m, log_n, log_m):
    p, q, g = np.exp(logp)
    pn = p * n
    s = g + n * m
    log_s = np.log(s)
    dg_pnq = digamma(pn + q)
    ll = (
        gammaln(pn + q)
        - gammaln(pn)
        - gammaln(q)
        + q * np.log(g)
        + (pn - 1) * log_m
        + pn * log_n
        - (pn + q) * log_s
    )
    dp = n * (dg_pnq - digamma(pn) + log_m + log_n - log_s)
    dq = dg_pnq - digamma(q) + np.log(g) - log_s
    dg = q / g - (pn + q) / s
    grad = np.array([dp.mean() * p, dq.mean() * q, dg.mean() * g])
    return -float(ll.mean()), -grad


class GammaGammaModel:
    """Gamma-Gamma spend model: a customer's purchase values are Gamma(p, ν), ν ~ Gamma(q, γ).

    Fitted by maximum likelihood on (n, mean purchase value) per customer with
    the closed-form density of the mean and its analytic gradient (L-BFGS-B on
    log parameters), all customers in one vectorised pass.
    """

    def fit(self, n, mean_value) -> GammaGammaModel:
        """Fit on customers with ``n >= 1`` purchase values of positive mean; returns self with ``params_``.

        Parameters
        ----------
        n : array-like
            Purchase values per customer.
        mean_value : array-like
            Their mean.

        Returns
        -------
        GammaGammaModel
            self, with ``params_`` (p, q, gamma).
        """
        n, m = np.asarray(n, dtype="float64"), np.asarray(mean_value, dtype="float64")
        ok = (n >= 1) & np.isfinite(m) & (m > 0)
        if ok.sum() < 3:
            raise DataError(
                "the Gamma-Gamma spend model needs at least 3 customers with purchases of positive value"
            )
        n, m = n[ok], m[ok]
        scale = float(
            np.mean(m)
        )  # fit in units of the mean spend: the optimiser sees numbers near 1
        start = np.log([2.0, 3.0, 2.0])
        res = minimize(
            _gg_nll,
            start,
            args=(n, m / scale, np.log(n), np.log(m / scale)),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-9.0, 9.0)] * 3,
        )
        p, q, g = np.exp(res.x)
        self.params_ = {"p": float(p), "q": float(q), "gamma": float(g * scale)}
        self.converged_ = bool(res.success)
        return self

    def conditional_mean(self, n, mean_value) -> np.ndarray:
        """E[purchase value | n, mean]: a weighted mean of the population mean and the customer's own;
        the population mean p γ / (q - 1) for n = 0 (NaN when q <= 1, where the mean does not exist).

        Parameters
        ----------
        n : array-like
            Purchase values per customer.
        mean_value : array-like
            Their mean.

        Returns
        -------
        ndarray
            Expected value of a purchase per customer.
        """
        p, q, g = (self.params_[k] for k in ("p", "q", "gamma"))
        n = np.asarray(n, dtype="float64")
        m = np.nan_to_num(np.asarray(mean_value, dtype="float64"))
        if q <= 1:
            return np.full(n.shape, np.nan)
        return p * (g + n * m) / (p * n + q - 1)


@dataclass
class BetaGeoGammaGamma:
    """BG/NBD purchases × Gamma-Gamma spend, fitted on :func:`customer_features` (see :meth:`fit`)."""

    bgnbd: BetaGeoModel | None = None
    gg: GammaGammaModel | None = None

    def fit(
        self, features: pd.DataFrame, *, max_fit_rows: int = 200_000, random_state: int = 0
    ) -> BetaGeoGammaGamma:
        """BG/NBD on every customer with a purchase (the lapsed too: they carry the dropout), on a seeded
        subsample of ``max_fit_rows`` when larger; Gamma-Gamma on the repeat purchase days of repeat
        buyers (the first purchase left out, as Fader, Hardie & Lee do).

        Parameters
        ----------
        features : DataFrame
            Per-customer features at the cutoff.
        max_fit_rows : int
            Largest BG/NBD fit sample.
        random_state : int
            Seed of the subsample.

        Returns
        -------
        BetaGeoGammaGamma
            self, fitted.
        """
        require_columns(
            features, ["x", "t_x_days", "tenure_days", "repeat_value"], "the customer features"
        )
        f = _subsample(features, max_fit_rows, random_state)
        self.bgnbd = BetaGeoModel().fit(f["x"], f["t_x_days"] / WEEK, f["tenure_days"] / WEEK)
        rep = features[features["x"] > 0]
        self.gg = GammaGammaModel().fit(rep["x"], rep["repeat_value"])
        return self

    @property
    def params_(self) -> dict:
        return {
            "bgnbd": {k: float(v) for k, v in self.bgnbd.params_.items()},
            "gamma_gamma": dict(self.gg.params_),
        }

    def predict(
        self, features: pd.DataFrame, horizon_days: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(expected purchase days, expected net sales, P(alive)) over the ``horizon_days`` after the cutoff.

        Parameters
        ----------
        features : DataFrame
            Per-customer features at the cutoff.
        horizon_days : int
            Length of the forecast.

        Returns
        -------
        tuple of ndarray
            Expected purchase days, expected net sales and P(alive), per customer.
        """
        f = features
        x, t_x, T = (
            f["x"].to_numpy(float),
            f["t_x_days"].to_numpy(float) / WEEK,
            f["tenure_days"].to_numpy(float) / WEEK,
        )
        purchases = bgnbd_expected_purchases(self.bgnbd.params_, horizon_days / WEEK, x, t_x, T)
        spend = self.gg.conditional_mean(x, f["repeat_value"].to_numpy(float))
        alive = self.bgnbd.p_alive(x, t_x, T)
        return purchases, purchases * spend * f["net_ratio"].to_numpy(float), alive


def _subsample(f: pd.DataFrame, n: int, random_state: int) -> pd.DataFrame:
    if len(f) <= n:
        return f
    rng = np.random.default_rng(random_state)
    return f.iloc[np.sort(rng.choice(len(f), n, replace=False))]


# ------------------------------------------------------------------ gradient boosting and run rate
@dataclass
class _RunRateBoosting:
    """Boosted trees with Poisson loss and the run rate as exposure: the trees learn a multiplier on the
    run rate (fit ``y / base`` weighted by ``base``, the tree analogue of a Poisson GLM with offset
    ``log base``).  Plain Poisson trees on raw spend averaged customers of very different size within a
    leaf (MAE 4x the run rate's on the sample company); the multiplier keeps each customer's own scale."""

    random_state: int = 0
    model: object = None
    columns: list = field(default_factory=list)
    floor: float = 1.0
    thresholds: list | None = None  # bin edges per column (see _bin_thresholds)

    def fit(
        self, f: pd.DataFrame, y: np.ndarray, horizon_days: int, *, max_fit_rows: int
    ) -> _RunRateBoosting:
        from sklearn.ensemble import HistGradientBoostingRegressor

        if len(f) > max_fit_rows:
            idx = np.sort(
                np.random.default_rng(self.random_state).choice(len(f), max_fit_rows, replace=False)
            )
            f, y = f.iloc[idx], y[idx]
        base = _run_rate(f, horizon_days)[1]
        # customers without sales in the window still get a small exposure: the 5th percentile of the others'
        self.floor = float(np.quantile(base[base > 0], 0.05)) if (base > 0).any() else 1.0
        w = np.maximum(base, self.floor)
        self.columns = [
            c for c in FEATURES if f[c].notna().any()
        ]  # an all-blank column breaks the binning
        self.model = HistGradientBoostingRegressor(
            loss="poisson",
            learning_rate=0.05,
            max_iter=200,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=self.random_state,
        )
        x = f[self.columns].to_numpy(dtype="float64", na_value=np.nan)
        # sklearn's own weighted bin edges, found here with one sort per feature (sklearn 1.9
        # sorts the column again for each of its 254 percentiles: 5 s of 7 at 200,000 rows);
        # beyond its binning subsample sklearn draws rows for the edges, so it bins itself
        self.thresholds = (
            [_bin_thresholds(x[:, j], w) for j in range(x.shape[1])]
            if len(x) <= _BINNING_SUBSAMPLE
            else None
        )
        with threadpool_limits(
            limits=1
        ):  # OpenMP threads spin against each other on a small shared machine
            self.model.fit(self._binned(x), np.clip(y, 0.0, None) / w, sample_weight=w)
        return self

    def _binned(self, x: np.ndarray) -> np.ndarray:
        """Each value replaced by its bin number under :attr:`thresholds` (blanks stay blank)."""
        if self.thresholds is None:
            return x
        out = np.full(x.shape, np.nan)
        for j, t in enumerate(self.thresholds):
            ok = ~np.isnan(x[:, j])
            out[ok, j] = np.searchsorted(t, x[ok, j], side="left")
        return out

    def predict(self, f: pd.DataFrame, horizon_days: int) -> np.ndarray:
        base = np.maximum(_run_rate(f, horizon_days)[1], self.floor)
        x = self._binned(f[self.columns].to_numpy(dtype="float64", na_value=np.nan))
        with threadpool_limits(limits=1):
            return np.clip(base * self.model.predict(x), 0.0, None)


_MAX_BINS = 255  # HistGradientBoostingRegressor's default max_bins
_BINNING_SUBSAMPLE = 200_000  # rows above which sklearn's bin mapper subsamples


def _bin_thresholds(col: np.ndarray, weight: np.ndarray, max_bins: int = _MAX_BINS) -> np.ndarray:
    """The bin edges HistGradientBoosting finds for one feature fitted with ``weight``
    (``sklearn.ensemble._hist_gradient_boosting.binning._find_binning_thresholds``): the
    midpoints of the distinct values when at most ``max_bins``, else the weighted
    averaged-inverted-CDF percentiles 1/max_bins … (max_bins - 1)/max_bins, all from one sort.

    A value ``v`` then falls in bin ``i`` when ``edges[i - 1] < v <= edges[i]``; the trees,
    fitted on bin numbers instead of values, are those sklearn fits on the values.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    keep = ~np.isnan(col) & (weight != 0)
    col, weight = col[keep], weight[keep]
    order = np.argsort(col)
    col, weight = col[order], weight[order]
    distinct = np.unique(col).astype("float64")
    if len(distinct) <= 1:
        return np.asarray([], dtype="float64")
    if len(distinct) <= max_bins:
        edges = sliding_window_view(distinct, 2).mean(axis=1)
    else:
        ranks = np.linspace(0, 100, num=max_bins + 1)[1:-1]
        edges = _averaged_inverted_cdf(col, weight, ranks)
    return np.clip(np.unique(edges), None, 1e300)  # sklearn's ALMOST_INF


def _averaged_inverted_cdf(values: np.ndarray, weight: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Weighted percentiles (in percent) of sorted ``values`` with positive ``weight`` by the
    averaged inverted CDF (Hyndman and Fan; numpy's ``averaged_inverted_cdf``): the value
    where the cumulative weight reaches the rank, or the mean of it and the next value when
    the rank falls exactly on it.  The rule of ``sklearn.utils.stats._weighted_percentile``
    with ``average=True``, which HistGradientBoosting's binning uses."""
    cdf = np.cumsum(weight)
    target = ranks / 100 * cdf[-1]
    target = np.where(target == 0, np.nextafter(target, target + 1), target)
    last = len(values) - 1
    at = np.clip(np.searchsorted(cdf, target), 0, last)
    above = (cdf[at] - target) > np.finfo("float64").eps
    return np.where(above, values[at], (values[at] + values[np.clip(at + 1, 0, last)]) / 2)


def _run_rate(f: pd.DataFrame, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
    look = f["lookback_days"].to_numpy(float)
    return (
        f["days_lookback"].to_numpy(float) / look * horizon_days,
        np.clip(f["sales_lookback"].to_numpy(float) / look * horizon_days, 0.0, None),
    )


def _boosting_purchases(f: pd.DataFrame, sales: np.ndarray) -> np.ndarray:
    value = (f["avg_value"] * f["net_ratio"]).to_numpy(float)
    return np.where(value > 0, sales / np.where(value > 0, value, 1.0), 0.0)


# ------------------------------------------------------------------ metrics
def top_decile_capture(actual, predicted, *, share: float = 0.1) -> float:
    """Share of the actual total bought by the customers with the top ``share`` of predictions.

    The top group holds ``ceil(share × n)`` customers; customers tied with the
    last one in it count with equal fractional weight (the expected capture
    under a random order of ties), so the result does not depend on row order.

    Parameters
    ----------
    actual, predicted : array-like
        Actual and predicted sales per customer.
    share : float
        Share of customers in the top group.

    Returns
    -------
    float
        The captured share (NaN for a non-positive total).
    """
    a, p = np.asarray(actual, dtype="float64"), np.asarray(predicted, dtype="float64")
    total = a.sum()
    if len(a) == 0 or total == 0:
        return math.nan
    k = math.ceil(share * len(a))
    order = np.argsort(-p, kind="stable")
    edge = p[order[k - 1]]
    above = p > edge
    tied = p == edge
    weight = above.astype(float) + tied * (k - above.sum()) / tied.sum()
    return float((weight * a).sum() / total)


def score_metrics(actual, predicted) -> dict:
    """MAE, RMSE, Spearman rank correlation, top-decile capture and total bias (predicted ÷ actual − 1).

    Parameters
    ----------
    actual, predicted : array-like
        Actual and predicted sales per customer.

    Returns
    -------
    dict
        ``mae``, ``rmse``, ``spearman``, ``top_decile_capture`` and ``bias``.
    """
    a, p = np.asarray(actual, dtype="float64"), np.asarray(predicted, dtype="float64")
    err = p - a
    rho = spearmanr(p, a).statistic if len(a) > 2 and np.ptp(p) > 0 and np.ptp(a) > 0 else math.nan
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "spearman": float(rho),
        "top_decile_capture": top_decile_capture(a, p),
        "bias": float(p.sum() / a.sum() - 1) if a.sum() != 0 else math.nan,
    }


# A forecast whose total is off by more than this share is not chosen (see choose_model).
MAX_ABS_BIAS = 0.25


def choose_model(
    metrics: pd.DataFrame, *, baseline: str = BASELINE, max_abs_bias: float | None = MAX_ABS_BIAS
) -> tuple[str, bool]:
    """The model the backtest picks, and whether it beats the baseline.

    Parameters
    ----------
    metrics : DataFrame
        One row per model (index), with ``mae``, ``top_decile_capture`` and, for the bias
        rule, ``bias`` (total predicted / actual - 1).
    baseline : str
        The naive run rate's row.
    max_abs_bias : float or None
        A candidate whose total forecast misses the holdout's total by more than this share
        (|predicted / actual - 1|) is not chosen: next year's sales per class are summed from
        the forecast, so a model that is right per customer on average but far off in total
        would mislead the plan (the project's choice, 0.25; ``None`` switches it off).

    Returns
    -------
    (str, bool)
        The lowest MAE among the candidates that beat ``baseline`` on both MAE and top-decile
        capture (and pass the bias rule); the baseline itself, with ``False``, when none does.
    """
    if baseline not in metrics.index:
        raise ValueError(
            f"the baseline {baseline!r} has no metrics (models: {', '.join(metrics.index)})"
        )
    base = metrics.loc[baseline]
    others = metrics.drop(index=baseline)
    ok = others[
        (others["mae"] < base["mae"]) & (others["top_decile_capture"] > base["top_decile_capture"])
    ]
    if max_abs_bias is not None and "bias" in ok.columns:
        ok = ok[ok["bias"].abs() <= max_abs_bias]
    if ok.empty:
        return baseline, False
    return str(ok["mae"].idxmin()), True


def decile_table(
    predictions: pd.DataFrame, model: str, *, actual_col: str = "actual", n_bins: int = 10
) -> pd.DataFrame:
    """Predicted against actual per decile of the prediction (1 = the highest predicted tenth).

    Customers are ordered by prediction (ties by row order) and cut into
    ``n_bins`` groups of equal count.

    Parameters
    ----------
    predictions : DataFrame
        Backtest predictions.
    model : str
        The model column.
    actual_col : str
        The actual sales column.
    n_bins : int
        Groups.

    Returns
    -------
    DataFrame
        decile, customers, predicted, actual (sums), predicted_mean, actual_mean, actual_share.
    """
    require_columns(predictions, [model, actual_col], "the backtest predictions")
    p = predictions[model].to_numpy(float)
    order = np.argsort(-p, kind="stable")
    dec = np.empty(len(p), np.int64)
    dec[order] = np.arange(len(p)) * n_bins // max(len(p), 1) + 1
    g = pd.DataFrame(
        {"decile": dec, "predicted": p, "actual": predictions[actual_col].to_numpy(float)}
    ).groupby("decile")
    out = g.agg(
        customers=("predicted", "size"), predicted=("predicted", "sum"), actual=("actual", "sum")
    )
    total = out["actual"].sum()
    out = out.assign(
        predicted_mean=out["predicted"] / out["customers"],
        actual_mean=out["actual"] / out["customers"],
        actual_share=out["actual"] / total if total else np.nan,
    )
    return out.reset_index()


# ------------------------------------------------------------------ backtest and forecast
@dataclass
class Backtest:
    """A backtest of the candidates at ``cutoff`` over ``[cutoff, cutoff + horizon_days)``.

    ``predictions``: customer_id, actual (holdout net sales) and one column of
    predicted sales per candidate; ``metrics``: one row per candidate
    (:data:`METRICS`); ``chosen``: the model picked by :func:`choose_model`;
    ``beats_baseline``: whether it beats the run rate; ``params``: fitted
    BG/NBD and Gamma-Gamma parameters; ``notes``: candidates that could not run.
    """

    cutoff: pd.Timestamp
    horizon_days: int
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    chosen: str
    beats_baseline: bool
    train_days: int | None = None
    params: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class ValueForecast:
    """The forecast at ``as_of`` for ``horizon_days``, by the model the backtest chose.

    ``customers``: one row per active customer: customer_id, past_sales (net
    sales in the ``horizon_days`` before ``as_of``), past_gross_profit,
    expected_purchases, expected_sales, sales_low, sales_high (the interval at
    ``quantiles``), margin_rate, expected_gross_profit, p_alive (BG/NBD only),
    potential_value (percentile of expected gross profit, or of expected sales
    without cost).
    """

    as_of: pd.Timestamp
    horizon_days: int
    model: str
    beats_baseline: bool
    customers: pd.DataFrame
    backtest: Backtest
    quantiles: tuple[float, float]
    params: dict = field(default_factory=dict)

    @property
    def expected_sales(self) -> float:
        return float(self.customers["expected_sales"].sum())

    @property
    def expected_gross_profit(self) -> float:
        return float(self.customers["expected_gross_profit"].sum(min_count=1))


def _settings(horizon_days, lookback_days, active_days):
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be at least 1 (got {horizon_days})")
    return int(horizon_days), int(lookback_days or horizon_days), active_days


def _boosting_data(
    d: _Days, cutoff: int, h: int, look: int, active_days
) -> tuple[pd.DataFrame, np.ndarray, int] | None:
    """The boosted trees' training set for the ``h`` days after ``cutoff``: the features of the customers
    active at ``cutoff - h_t`` and their net sales in the ``h_t`` days up to ``cutoff`` scaled to ``h``,
    and ``h_t``; None when the history is too short."""
    start = int(
        np.min(d.day, where=d.day < cutoff, initial=cutoff)
    )  # the first day before the cutoff
    h_t = min(h, (cutoff - start) // 2)
    if h_t < MIN_TRAIN_DAYS:
        return None
    f_t = _features(d, cutoff - h_t, lookback_days=look, active_days=active_days)
    f_t = f_t[f_t["active"]]
    if len(f_t) < 20:
        return None
    y = _window_sum(d, d.net, cutoff - h_t, cutoff)[f_t.index.to_numpy()] * (h / h_t)
    return f_t, y, h_t


def _inputs_at(d: _Days, cutoff: int, h: int, look: int, active_days, candidates) -> tuple:
    """What the candidates take from the customer-day totals at ``cutoff``: every customer's features, and
    the boosted trees' training set (:func:`_boosting_data`; None when they are not a candidate)."""
    f_all = _features(d, cutoff, lookback_days=look, active_days=active_days)
    boost = (
        _boosting_data(d, cutoff, h, look, active_days)
        if "gradient_boosting" in candidates
        else None
    )
    return f_all, boost


def _candidates_at(
    d: _Days,
    cutoff: int,
    h: int,
    look: int,
    active_days,
    candidates,
    *,
    random_state: int,
    max_fit_rows: int,
) -> tuple[pd.DataFrame, dict, dict, dict, list[str]]:
    """Features of the customers active at ``cutoff`` and each candidate's (purchases, sales, p_alive)."""
    return _fit_candidates(
        _inputs_at(d, cutoff, h, look, active_days, candidates),  # no name here: freed as fitted
        h,
        candidates,
        random_state=random_state,
        max_fit_rows=max_fit_rows,
    )


def _fit_candidates(
    inputs: tuple, h: int, candidates, *, random_state: int, max_fit_rows: int
) -> tuple[pd.DataFrame, dict, dict, dict, list[str]]:
    """:func:`_candidates_at` from its :func:`_inputs_at`: the models need no customer-day totals, so a
    caller may let those go first."""
    f_all, boost = inputs
    del inputs  # each input goes once its model is fitted (where the caller keeps none)
    f = f_all[f_all["active"]]
    preds, params, notes, info = {}, {}, [], {}
    if "run_rate" in candidates:
        purchases, sales = _run_rate(f, h)
        preds["run_rate"] = (purchases, sales, np.full(len(f), np.nan))
    if "bgnbd_gg" in candidates:
        try:
            model = BetaGeoGammaGamma().fit(
                f_all, max_fit_rows=max_fit_rows, random_state=random_state
            )
            preds["bgnbd_gg"] = model.predict(f, h)
            params = model.params_
        except (DataError, ValueError) as err:
            notes.append(f"bgnbd_gg: {err}")
    del f_all
    if "gradient_boosting" in candidates:
        if boost is None:
            notes.append(
                f"gradient_boosting: less than {2 * MIN_TRAIN_DAYS} days of history before the cutoff"
            )
        else:
            f_t, y, h_t = boost
            del boost
            model = _RunRateBoosting(random_state=random_state).fit(
                f_t, y, h, max_fit_rows=max_fit_rows
            )
            del f_t, y
            sales = model.predict(f, h)
            preds["gradient_boosting"] = (
                _boosting_purchases(f, sales),
                sales,
                np.full(len(f), np.nan),
            )
            info["train_days"] = h_t
    return f, preds, params, info, notes


def _check_candidates(candidates) -> tuple[str, ...]:
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; expected one of {', '.join(CANDIDATES)}")
    return tuple(dict.fromkeys([*candidates, BASELINE]))


def _backtest_days(
    d: _Days,
    cutoff: int,
    h: int,
    look: int,
    active_days,
    candidates,
    *,
    random_state: int,
    max_fit_rows: int,
) -> Backtest:
    if not (d.day < cutoff).any():
        raise DataError(
            f"no transactions before the backtest cutoff {_from_day(cutoff):%Y-%m-%d}: "
            f"the data must cover at least {h} days before the forecast date plus some history"
        )
    if d.day.max() < cutoff + h - 1:
        raise DataError(
            f"the holdout {_from_day(cutoff):%Y-%m-%d} – {_from_day(cutoff + h - 1):%Y-%m-%d} runs "
            f"past the last transaction ({_from_day(int(d.day.max())):%Y-%m-%d})"
        )
    f, preds, params, info, notes = _candidates_at(
        d,
        cutoff,
        h,
        look,
        active_days,
        candidates,
        random_state=random_state,
        max_fit_rows=max_fit_rows,
    )
    actual = _window_sum(d, d.net, cutoff, cutoff + h)[f.index.to_numpy()]
    table = pd.DataFrame(
        {
            "customer_id": f["customer_id"].to_numpy(),
            "actual": actual,
            **{k: v[1] for k, v in preds.items()},
        }
    )
    metrics = pd.DataFrame({k: score_metrics(actual, v[1]) for k, v in preds.items()}).T[
        list(METRICS)
    ]
    metrics = metrics.reindex([c for c in CANDIDATES if c in metrics.index]).rename_axis("model")
    chosen, beats = choose_model(metrics)
    return Backtest(
        cutoff=_from_day(cutoff),
        horizon_days=h,
        predictions=table,
        metrics=metrics,
        chosen=chosen,
        beats_baseline=beats,
        train_days=info.get("train_days"),
        params=params,
        notes=notes,
    )


def backtest(
    tx: pd.DataFrame,
    cutoff,
    *,
    horizon_days: int = 365,
    lookback_days: int | None = None,
    active_days: int | None = 365,
    candidates: Sequence[str] = CANDIDATES,
    random_state: int = 0,
    max_fit_rows: int = 200_000,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> Backtest:
    """Every candidate fitted on the lines before ``cutoff`` and scored on ``[cutoff, cutoff + horizon_days)``.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    cutoff : date-like
        End of the calibration period (exclusive) and start of the holdout.
    horizon_days : int
        Length of the holdout (and of the forecast).
    lookback_days : int, optional
        Window of the run rate and of the trend features (default: the horizon).
    active_days : int or None
        Customers who bought within this many days before the cutoff are
        scored (None: everyone who ever bought).
    candidates : sequence of str
        Among :data:`CANDIDATES`; the baseline always runs.
    random_state : int
        Seeds the boosted trees and the subsamples.
    max_fit_rows : int
        Larger populations are subsampled (seeded) to fit BG/NBD and the trees;
        every customer is still scored.

    Returns
    -------
    Backtest
    """
    h, look, active_days = _settings(horizon_days, lookback_days, active_days)
    d = _prepare(tx, id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
    return _backtest_days(
        d,
        _to_day(cutoff),
        h,
        look,
        active_days,
        _check_candidates(candidates),
        random_state=random_state,
        max_fit_rows=max_fit_rows,
    )


def _ratio_quantiles(
    bt: Backtest, quantiles: tuple[float, float], n_bins: int = 10
) -> pd.DataFrame:
    """Per decile of the chosen model's prediction: quantiles of actual ÷ predicted (predicted > 0), and
    of actual itself for the customers predicted at zero (row ``decile = 0``)."""
    pred, act = bt.predictions[bt.chosen].to_numpy(float), bt.predictions["actual"].to_numpy(float)
    pos = pred > 0
    rows = []
    if (~pos).any():
        rows.append(
            {
                "decile": 0,
                "low": np.quantile(act[~pos], quantiles[0]),
                "high": np.quantile(act[~pos], quantiles[1]),
            }
        )
    dec = _deciles(pred[pos], n_bins)
    ratio = act[pos] / pred[pos]
    for k in range(1, n_bins + 1):
        r = ratio[dec == k]
        if r.size:
            rows.append(
                {
                    "decile": k,
                    "low": np.quantile(r, quantiles[0]),
                    "high": np.quantile(r, quantiles[1]),
                }
            )
    return pd.DataFrame(rows, columns=["decile", "low", "high"])


def _deciles(p: np.ndarray, n_bins: int = 10) -> np.ndarray:
    order = np.argsort(-p, kind="stable")
    dec = np.empty(len(p), np.int64)
    dec[order] = np.arange(len(p)) * n_bins // max(len(p), 1) + 1
    return dec


def _interval(
    sales: np.ndarray, table: pd.DataFrame, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    t = table.set_index("decile")
    pos = sales > 0
    dec = np.zeros(len(sales), np.int64)
    dec[pos] = _deciles(sales[pos], n_bins)
    low, high = t["low"].reindex(dec).to_numpy(), t["high"].reindex(dec).to_numpy()
    scale = np.where(pos, sales, 1.0)
    return np.clip(low * scale, 0.0, None), np.clip(high * scale, 0.0, None)


@shared_result  # pages 01, 08 and 09 of one report run share it
def forecast(
    tx: pd.DataFrame,
    as_of,
    *,
    horizon_days: int = 365,
    lookback_days: int | None = None,
    active_days: int | None = 365,
    candidates: Sequence[str] = CANDIDATES,
    quantiles: tuple[float, float] = (0.1, 0.9),
    random_state: int = 0,
    max_fit_rows: int = 200_000,
    id_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    cost_col: str = "cost",
) -> ValueForecast:
    """Backtest at ``as_of - horizon_days``, choose, refit the chosen model on the lines before ``as_of``
    and forecast every customer active at ``as_of`` for ``horizon_days``.


    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    as_of : date-like
        The forecast starts on this day.
    horizon_days : int
        Length of the forecast in days.
    lookback_days : int, optional
        History used (None: all).
    active_days : int, optional
        Customers who bought within this many days are forecast (None: ever).
    candidates : sequence of str
        Models compared (:data:`CANDIDATES`).
    quantiles : tuple of float
        (low, high) quantiles of the interval.
    random_state : int
        Seed of the random draws.
    max_fit_rows : int
        Largest BG/NBD fit sample.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).
    cost_col : str
        Cost column.

    Returns
    -------
    ValueForecast
    """
    h, look, active_days = _settings(horizon_days, lookback_days, active_days)
    if not 0 <= quantiles[0] < quantiles[1] <= 1:
        raise ValueError(
            f"quantiles must be (low, high) with 0 <= low < high <= 1 (got {quantiles!r})"
        )
    cands = _check_candidates(candidates)
    d = _prepare(tx, id_col=id_col, date_col=date_col, amount_col=amount_col, cost_col=cost_col)
    end = _to_day(as_of)
    bt = _backtest_days(
        d,
        end - h,
        h,
        look,
        active_days,
        cands,
        random_state=random_state,
        max_fit_rows=max_fit_rows,
    )
    inputs = _inputs_at(d, end, h, look, active_days, (bt.chosen,))
    past, past_gp = _window_sums(d, (d.net, d.gp), end - h, end)
    has_cost = d.has_cost
    del d  # the chosen model needs only the features (issue 14: the totals are 0.4 GB at 10M lines)
    f, preds, params, _, _ = _fit_candidates(
        inputs, h, (bt.chosen,), random_state=random_state, max_fit_rows=max_fit_rows
    )
    del inputs
    purchases, sales, alive = preds[bt.chosen]
    low, high = _interval(sales, _ratio_quantiles(bt, quantiles))
    codes = f.index.to_numpy()
    past, past_gp = past[codes], past_gp[codes]
    past_gp = np.where(has_cost, past_gp, np.nan)
    margin = f["margin_rate"].to_numpy(float)
    out = pd.DataFrame(
        {
            "customer_id": f["customer_id"].to_numpy(),
            "past_sales": past,
            "past_gross_profit": past_gp,
            "expected_purchases": purchases,
            "expected_sales": sales,
            "sales_low": low,
            "sales_high": high,
            "margin_rate": margin,
            "expected_gross_profit": sales * margin,
            "p_alive": alive,
        }
    )
    out = out.assign(potential_value=potential_value(out)["potential_value"].to_numpy())
    return ValueForecast(
        as_of=_from_day(end),
        horizon_days=h,
        model=bt.chosen,
        beats_baseline=bt.beats_baseline,
        customers=out.reset_index(drop=True),
        backtest=bt,
        quantiles=tuple(quantiles),
        params=params,
    )


# ------------------------------------------------------------------ classes and potential value
def potential_value(
    customers: pd.DataFrame,
    *,
    id_col: str = "customer_id",
    profit_col: str = "expected_gross_profit",
    sales_col: str = "expected_sales",
) -> pd.DataFrame:
    """Potential value (潜在价值) as the 0-100 percentile of expected gross profit among the customers.

    Without any gross profit (no cost in the data) expected sales take its
    place, as the scorecard's financial family does.

    Parameters
    ----------
    customers : DataFrame
        :attr:`ValueForecast.customers`.
    id_col : str
        Customer id column.
    profit_col, sales_col : str
        Expected gross profit and sales columns.

    Returns
    -------
    DataFrame
        ``id_col``, ``basis`` (the column ranked) and ``potential_value``.
    """
    require_columns(customers, [id_col, sales_col], "the forecast")
    use = (
        profit_col
        if profit_col in customers.columns and customers[profit_col].notna().any()
        else sales_col
    )
    return pd.DataFrame(
        {
            id_col: customers[id_col].to_numpy(),
            "basis": use,
            "potential_value": percentile_score(customers[use].to_numpy()).to_numpy(),
        }
    )


def class_forecast(
    customers: pd.DataFrame,
    classes: pd.DataFrame,
    class_col: str,
    *,
    order: Sequence[str] | None = None,
    id_col: str = "customer_id",
) -> pd.DataFrame:
    """Next period's expected sales and gross profit per class (ABC, pyramid tier, value group ...).

    Parameters
    ----------
    customers : DataFrame
        :attr:`ValueForecast.customers`.
    classes : DataFrame
        ``id_col`` and ``class_col``, one row per customer: the classes of today.
        A classed customer without a forecast (not active) expects nothing.
    order : sequence of str, optional
        Classes to list, in this order (each gets a row); default: as found, sorted.

    Returns
    -------
    DataFrame
        class_col, customers, past_sales, expected_sales, change (expected ÷
        past − 1), expected_sales_share, past_gross_profit, expected_gross_profit.
    """
    require_columns(classes, [id_col, class_col], "the class table")
    if classes[id_col].duplicated().any():
        raise ValueError(f"the class table has more than one row for a customer ({id_col})")
    cols = ["past_sales", "expected_sales", "past_gross_profit", "expected_gross_profit"]
    fc = customers.set_index(id_col)[cols]
    j = classes[[id_col, class_col]].join(fc, on=id_col)
    j = j.assign(**{c: j[c].fillna(0.0) for c in ("past_sales", "expected_sales")})
    g = j.groupby(class_col, sort=True)
    out = g.agg(
        customers=(id_col, "size"),
        past_sales=("past_sales", "sum"),
        expected_sales=("expected_sales", "sum"),
        past_gross_profit=("past_gross_profit", lambda s: s.sum(min_count=1)),
        expected_gross_profit=("expected_gross_profit", lambda s: s.sum(min_count=1)),
    )
    if order is not None:
        out = out.reindex(list(order)).fillna(
            {"customers": 0, "past_sales": 0.0, "expected_sales": 0.0}
        )
    total = out["expected_sales"].sum()
    out = out.assign(
        customers=out["customers"].astype("int64"),
        change=out["expected_sales"] / out["past_sales"].where(out["past_sales"] > 0) - 1,
        expected_sales_share=out["expected_sales"] / total if total > 0 else np.nan,
    )
    return out.rename_axis(class_col).reset_index()[
        [
            class_col,
            "customers",
            "past_sales",
            "expected_sales",
            "change",
            "expected_sales_share",
            "past_gross_profit",
            "expected_gross_profit",
        ]
    ]


def class_moves(
    customers: pd.DataFrame,
    *,
    cutoffs: Sequence[float] = (0.75, 0.95),
    id_col: str = "customer_id",
    now_col: str = "past_sales",
    next_col: str = "expected_sales",
) -> pd.DataFrame:
    """ABC class today (by ``now_col``) and by the forecast (``next_col``, same cut-offs and rule as
    :func:`analysis.classify.classes.abc_classes`); ``move`` is "develop" when the forecast class is
    higher (C→B, B→A, C→A), "watch" when lower, else "same".

    Parameters
    ----------
    customers : DataFrame
        :attr:`ValueForecast.customers`.
    cutoffs : sequence of float
        The ABC cut-offs.
    id_col : str
        Customer id column.
    now_col, next_col : str
        Past and expected sales columns.

    Returns
    -------
    DataFrame
        ``customers`` with ``abc_now``, ``abc_next`` and ``move``.
    """
    require_columns(customers, [id_col, now_col, next_col], "the forecast")
    now = abc_classes(
        customers[[id_col, now_col]], now_col, cutoffs=cutoffs, id_col=id_col
    ).set_index(id_col)["abc_class"]
    nxt = abc_classes(
        customers[[id_col, next_col]], next_col, cutoffs=cutoffs, id_col=id_col
    ).set_index(id_col)["abc_class"]
    rank = {c: i for i, c in enumerate(ABC_CLASSES)}
    a = customers[id_col].map(now)
    b = customers[id_col].map(nxt)
    step = b.map(rank) - a.map(rank)
    return customers.assign(
        abc_now=a.to_numpy(),
        abc_next=b.to_numpy(),
        move=np.select([step < 0, step > 0], ["develop", "watch"], "same"),
    )


def develop_list(moves: pd.DataFrame, *, top_n: int = 20) -> pd.DataFrame:
    """Customers the forecast lifts into a higher ABC class (develop, 培养), largest expected sales first.

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_moves`.
    top_n : int
        Rows kept.

    Returns
    -------
    DataFrame
        The customers moving up.
    """
    out = moves[moves["move"] == "develop"]
    return (
        out.sort_values(["expected_sales", "customer_id"], ascending=[False, True], kind="stable")
        .head(top_n)
        .reset_index(drop=True)
    )


def watch_list(moves: pd.DataFrame, *, top_n: int = 20) -> pd.DataFrame:
    """Customers the forecast drops into a lower ABC class (watch, 关注), largest past sales first.

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_moves`.
    top_n : int
        Rows kept.

    Returns
    -------
    DataFrame
        The customers moving down.
    """
    out = moves[moves["move"] == "watch"]
    return (
        out.sort_values(["past_sales", "customer_id"], ascending=[False, True], kind="stable")
        .head(top_n)
        .reset_index(drop=True)
    )


# ------------------------------------------------------------------ report text, tables, record
def model_name(model: str, lang: str = "zh") -> str:
    """A candidate's name in ``lang`` (label ``vf_model_<model>``).

    Parameters
    ----------
    model : str
        The candidate's code.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
    """
    return label_or(f"vf_model_{model}", model, lang)


def metrics_table(bt: Backtest, lang: str = "zh") -> pd.DataFrame:
    """The backtest metrics, one row per candidate named in ``lang``, the chosen one ticked.

    Parameters
    ----------
    bt : Backtest
        From :func:`backtest`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        model (named), the metrics of :func:`score_metrics` and chosen (✓).
    """
    m = bt.metrics.reset_index()
    return m.assign(
        model=m["model"].map(lambda k: model_name(k, lang)),
        chosen=np.where(m["model"] == bt.chosen, "✓", ""),
    )


def moves_note(fc: ValueForecast, moves: pd.DataFrame, lang: str = "zh") -> str:
    """A sentence when the lists are empty: with the run rate chosen (and its window the horizon) the
    forecast repeats last year, so no customer changes class.

    Parameters
    ----------
    fc : ValueForecast
        From :func:`forecast`.
    moves : DataFrame
        From :func:`class_moves`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The sentence, or ``""`` when there are moves.
    """
    if (moves["move"] != "same").any():
        return ""
    return label("vf_moves_none_baseline" if fc.model == BASELINE else "vf_moves_none", lang)


def verdict(bt: Backtest, lang: str = "zh") -> str:
    """One sentence: does the chosen model beat the run-rate baseline on MAE and top-decile capture?

    Parameters
    ----------
    bt : Backtest
        From :func:`backtest`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The sentence in ``lang``.
    """
    m = bt.metrics
    if bt.beats_baseline:
        c, b = m.loc[bt.chosen], m.loc[BASELINE]
        return label(
            "vf_verdict_beats",
            lang,
            model=model_name(bt.chosen, lang),
            mae=f"{c['mae']:,.0f}",
            base_mae=f"{b['mae']:,.0f}",
            capture=f"{c['top_decile_capture']:.0%}",
            base_capture=f"{b['top_decile_capture']:.0%}",
        )
    return label("vf_verdict_baseline", lang)


def history_gap(
    tx: pd.DataFrame, as_of, *, horizon_days: int = 365, date_col: str = "date", lang: str = "en"
) -> str | None:
    """Why the data cannot carry a backtested forecast at ``as_of`` (None when they can): the backtest
    needs four weeks of history before ``as_of - horizon_days`` and the holdout up to ``as_of``.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    as_of : date-like
        The forecast start.
    horizon_days : int
        Length of the forecast.
    date_col : str
        Date column.
    lang : {"en", "zh"}
        Language of the answer (labels ``vf_gap_*``); English is the form summary.json records.

    Returns
    -------
    str or None
        What the data lack, or None.
    """
    require_columns(tx, [date_col], "the transactions")
    first, last = tx[date_col].min(), tx[date_col].max()
    cutoff = pd.Timestamp(as_of) - pd.Timedelta(days=horizon_days)
    need_first = cutoff - pd.Timedelta(days=MIN_TRAIN_DAYS)
    if pd.isna(first) or first > need_first:
        return label(
            "vf_gap_history",
            lang,
            first=f"{need_first:%Y-%m-%d}",
            days=horizon_days,
            as_of=f"{pd.Timestamp(as_of):%Y-%m-%d}",
            train=MIN_TRAIN_DAYS,
        )
    if last < pd.Timestamp(as_of) - pd.Timedelta(days=1):
        return label(
            "vf_gap_holdout", lang, last=f"{pd.Timestamp(as_of) - pd.Timedelta(days=1):%Y-%m-%d}"
        )
    return None


def windows_table(
    fc: ValueForecast, tx: pd.DataFrame, lang: str = "zh", *, date_col: str = "date"
) -> pd.DataFrame:
    """The backtest's calibration and holdout windows and the forecast window, with customers scored.

    Parameters
    ----------
    fc : ValueForecast
        From :func:`forecast`.
    tx : DataFrame
        Transaction lines.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    date_col : str
        Date column.

    Returns
    -------
    DataFrame
        window, from, to and customers.
    """
    day = pd.Timedelta(days=1)
    bt, h = fc.backtest, pd.Timedelta(days=fc.horizon_days)
    rows = [
        ("calibration", tx[date_col].min(), bt.cutoff - day, np.nan),
        ("holdout", bt.cutoff, bt.cutoff + h - day, len(bt.predictions)),
        ("forecast", fc.as_of, fc.as_of + h - day, len(fc.customers)),
    ]
    return pd.DataFrame(
        [
            {
                "window": label(f"vf_window_{k}", lang),
                "from": f"{a:%Y-%m-%d}",
                "to": f"{b:%Y-%m-%d}",
                "customers": n,
            }
            for k, a, b, n in rows
        ]
    )


def params_table(bt: Backtest, lang: str = "zh") -> pd.DataFrame:
    """The fitted BG/NBD (r, alpha in weeks, a, b) and Gamma-Gamma (p, q, gamma) parameters of the backtest.

    Parameters
    ----------
    bt : Backtest
        From :func:`backtest`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        model, parameter and value.
    """
    rows = [
        {"model": model_name(model, lang), "parameter": k, "value": v}
        for model, ps in bt.params.items()
        for k, v in ps.items()
    ]
    return pd.DataFrame(rows, columns=["model", "parameter", "value"])


#: columns of the staff table (customer_value_forecast.csv), where present
STAFF_COLUMNS = (
    "customer_id",
    "name",
    "tier",
    "abc_now",
    "abc_next",
    "move",
    "past_sales",
    "past_gross_profit",
    "expected_purchases",
    "expected_sales",
    "sales_low",
    "sales_high",
    "margin_rate",
    "expected_gross_profit",
    "p_alive",
    "potential_value",
)


def staff_table(moves: pd.DataFrame, lang: str = "zh", *, coded=None) -> pd.DataFrame:
    """The forecast per customer for staff: :data:`STAFF_COLUMNS` where present, class codes named
    (``coded``: column -> kind; the move always) and headers in ``lang``; largest expected sales first.

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_moves`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    coded : mapping, optional
        Column -> class kind.

    Returns
    -------
    DataFrame
        The table in ``lang``.
    """
    cols = [c for c in STAFF_COLUMNS if c in moves.columns]
    out = moves[cols].sort_values(
        ["expected_sales", "customer_id"], ascending=[False, True], kind="stable"
    )
    kinds = {"move": "vf_move", "tier": "tier", **dict(coded or {})}  # tier: the pyramid's
    out = out.assign(
        **{c: label_values(out[c], k, lang) for c, k in kinds.items() if c in out.columns}
    )
    return out.rename(
        columns={c: label_or(f"vf_col_{c}", header(c, lang), lang) for c in cols}
    ).reset_index(drop=True)


#: the columns of :func:`develop_list` and :func:`watch_list` a page shows
LIST_COLUMNS = (
    "customer_id",
    "name",
    "abc_now",
    "abc_next",
    "past_sales",
    "expected_sales",
    "sales_low",
    "sales_high",
    "expected_gross_profit",
)


def move_counts(moves: pd.DataFrame) -> dict:
    """How many customers the forecast lifts into a higher ABC class and drops into a lower one.

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_moves`.

    Returns
    -------
    dict
        ``develop`` and ``watch``: numbers of customers (0 when none).
    """
    require_columns(moves, ["move"], "the class moves")
    counts = moves["move"].value_counts()
    return {move: int(counts.get(move, 0)) for move in ("develop", "watch")}


def move_matrix(moves: pd.DataFrame) -> pd.DataFrame:
    """Customers by ABC class today (rows) and by the forecast (columns).

    Parameters
    ----------
    moves : DataFrame
        From :func:`class_moves`.

    Returns
    -------
    DataFrame
        ``abc_now`` and one column per forecast class.
    """
    require_columns(moves, ["abc_now", "abc_next"], "the class moves")
    m = pd.crosstab(moves["abc_now"], moves["abc_next"]).reindex(
        index=list(ABC_CLASSES), columns=list(ABC_CLASSES), fill_value=0
    )
    return m.rename_axis(index="abc_now", columns=None).reset_index()


def plot_deciles(table: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Mean predicted against mean actual sales per decile of the prediction (bars side by side).

    Parameters
    ----------
    table : DataFrame
        From :func:`decile_table`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure's when None.

    Returns
    -------
    matplotlib Axes
        The axes drawn on.
    """
    ax = axes(ax)
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["predicted_mean"], width=0.4, label=label("vf_predicted", lang))
    ax.bar(x + 0.2, table["actual_mean"], width=0.4, label=label("vf_actual", lang))
    ax.set_xticks(x, table["decile"].astype(str))
    ax.set(
        xlabel=label("vf_decile", lang),
        ylabel=label("vf_sales_per_customer", lang),
        title=label("vf_deciles_title", lang),
    )
    money_axis(ax)
    ax.legend()
    return ax


# ------------------------------------------------------------------ synthetic data
def simulate_transactions(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    p: float,
    q: float,
    gamma: float,
    weeks: float = 104.0,
    birth_weeks: float = 52.0,
    start="2020-01-06",
    random_state: int = 0,
) -> pd.DataFrame:
    """Transactions drawn from the BG/NBD × Gamma-Gamma process (time in weeks, as the fit).

    Each customer's first purchase falls uniformly in the first ``birth_weeks``;
    repeat purchases follow a Poisson process of rate λ ~ Gamma(r, α) until,
    after each repeat purchase, the customer drops out with probability
    p_drop ~ Beta(a, b); every purchase is worth Gamma(p, ν) with ν ~ Gamma(q, γ).
    Purchases stop at ``weeks``.  Dates are floored to the day.

    Parameters
    ----------
    n_customers : int
        Customers drawn.
    r, alpha, a, b : float
        BG/NBD parameters (weeks).
    p, q, gamma : float
        Gamma-Gamma parameters.
    weeks : float
        Length of the history.
    birth_weeks : float
        Weeks in which first purchases fall.
    start : date-like
        The first day.
    random_state : int
        Seed of the random draws.

    Returns
    -------
    DataFrame
        customer_id (``"S0000001"`` …), date, amount; sorted by customer and date.
    """
    rng = np.random.default_rng(random_state)
    lam, drop = rng.gamma(r, 1.0 / alpha, n_customers), rng.beta(a, b, n_customers)
    nu = rng.gamma(q, 1.0 / gamma, n_customers)
    t = rng.uniform(0.0, birth_weeks, n_customers)
    ids, times, idx = [np.arange(n_customers)], [t.copy()], np.arange(n_customers)
    while idx.size:
        nxt = t[idx] + rng.exponential(1.0 / lam[idx])
        ok = nxt < weeks
        idx, nxt = idx[ok], nxt[ok]
        t[idx] = nxt
        ids.append(idx)
        times.append(nxt)
        idx = idx[rng.random(idx.size) >= drop[idx]]
    cid, tt = np.concatenate(ids), np.concatenate(times)
    amount = rng.gamma(p, 1.0 / nu[cid])
    order = np.lexsort((tt, cid))
    day = np.floor(tt[order] * WEEK).astype("int64")
    width = max(7, len(str(n_customers)))
    names = np.array([f"S{i:0{width}d}" for i in range(n_customers)], dtype=object)
    return pd.DataFrame(
        {
            "customer_id": pd.array(names[cid[order]], dtype="str"),
            "date": pd.Timestamp(start) + pd.to_timedelta(day, unit="D"),
            "amount": np.round(amount[order], 2),
        }
    )


def customer_forecast(tx: pd.DataFrame, as_of, **kwargs) -> pd.DataFrame | None:
    """Each active customer's expected sales and gross profit (:attr:`ValueForecast.customers`)
    where the transactions carry a backtested forecast at ``as_of``; None where they do not
    (:func:`history_gap`), so that callers keep their proxy.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    as_of : date-like
        The forecast start.
    kwargs
        :func:`forecast`'s options (``horizon_days``, ``random_state`` ...).

    Returns
    -------
    DataFrame or None
        :attr:`ValueForecast.customers`, or None.
    """
    gap = history_gap(tx, as_of, horizon_days=kwargs.get("horizon_days", 365))
    return None if gap else forecast(tx, as_of, **kwargs).customers
