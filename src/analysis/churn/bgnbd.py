"""BG/NBD purchase model (Fader, Hardie and Lee 2005, "Counting your customers the easy way").

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each purchase it
drops out with probability p ~ Beta(a, b).  Page 04 uses the model's probability of
no purchase within the horizon as a churn baseline; the value forecast
(:mod:`analysis.value.forecast`) uses its expected purchases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln

from analysis.engine.aggregate import customer_summary

__all__ = ["BetaGeoModel", "bgnbd_churn_probability", "no_purchase_probability"]


class BetaGeoModel:
    """BG/NBD purchase model: Poisson purchases at rate λ ~ Gamma(r, α) while alive,
    dropout after each purchase with probability p ~ Beta(a, b).

    Inputs follow the usual convention: ``x`` repeat purchases (purchase days
    minus one), ``t_x`` age at the last purchase, ``T`` age at the cutoff, all
    in the same time unit.
    """

    def fit(self, x, t_x, T) -> BetaGeoModel:
        """Maximum likelihood on log parameters (L-BFGS-B); returns self with ``params_``.

        Parameters
        ----------
        x, t_x, T : array-like
            Repeat purchases, age at the last purchase and age at the cutoff, per customer, in one
            time unit.

        Returns
        -------
        BetaGeoModel
            self, with ``params_`` (r, alpha, a, b) and ``converged_``.
        """
        data = pd.DataFrame(
            {"x": np.asarray(x, float), "t_x": np.asarray(t_x, float), "T": np.asarray(T, float)}
        )
        if len(data) == 0 or (data["x"] < 0).any() or (data["t_x"] > data["T"] + 1e-9).any():
            raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T for at least one customer")
        grouped = data.groupby(["x", "t_x", "T"]).size().reset_index(name="w")
        x, tx, TT, w = (grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "w"))
        # the groups are sorted by x, which takes few values: the gamma functions of x are
        # computed once per value (the same numbers, far fewer evaluations)
        first = np.r_[True, x[1:] != x[:-1]]
        xs = (x[first], np.cumsum(first) - 1)
        start = np.log([1.0, max(data["T"].mean(), 1e-3), 1.0, 1.0])
        res = minimize(
            _bgnbd_nll,
            start,
            args=(x, tx, TT, w, xs),
            method="L-BFGS-B",
            bounds=[(-9.0, 9.0)] * 4,
        )
        self.params_ = dict(zip(("r", "alpha", "a", "b"), np.exp(res.x)))
        self.converged_ = bool(res.success)
        return self

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still alive at T | x, t_x, T).

        Parameters
        ----------
        x, t_x, T : array-like
            Repeat purchases, age at the last purchase and age at the cutoff, per customer, in one
            time unit.

        Returns
        -------
        ndarray
            Probability that each customer is still alive at T.
        """
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
        log_ratio = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-12))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)

    def p_no_purchase(self, t, x, t_x, T) -> np.ndarray:
        """P(no purchase in (T, T + t]): dead, or alive with no Poisson event.

        Parameters
        ----------
        t : float
            Length of the horizon, in the unit of T.
        x, t_x, T : array-like
            Repeat purchases, age at the last purchase and age at the cutoff, per customer, in one
            time unit.

        Returns
        -------
        ndarray
            Probability of no purchase in (T, T + t] per customer.
        """
        r, alpha = self.params_["r"], self.params_["alpha"]
        x, T = np.asarray(x, float), np.asarray(T, float)
        alive = self.p_alive(x, t_x, T)
        return (1 - alive) + alive * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))


def _bgnbd_nll(logp, x, tx, T, w, xs=None):
    """Mean negative log-likelihood per customer; ``xs`` = (distinct x, position of each x in it)."""
    r, alpha, a, b = np.exp(logp)
    xu, at = xs if xs is not None else (x, slice(None))
    a1 = gammaln(r + xu)[at] - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + xu)[at] - gammaln(b) - gammaln(a + b + xu)[at]
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + xu - 1, 1e-12))[at] - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    ll = a1 + a2 + np.logaddexp(a3, a4)
    return -float((w * ll).sum() / w.sum())


def bgnbd_churn_probability(
    tx: pd.DataFrame,
    cutoff,
    ids,
    *,
    horizon_days: int,
    id_col="customer_id",
    date_col="date",
    amount_col="amount",
) -> pd.Series:
    """BG/NBD fitted on every customer's history before ``cutoff``; P(no purchase in the horizon) for ``ids``.

    Parameters
    ----------
    tx : DataFrame
        Transaction lines.
    cutoff : date-like
        The model sees the history before this day.
    ids : index-like
        Customers to score.
    horizon_days : int
        Length of the horizon in days.
    id_col : str
        Customer id column.
    date_col : str
        Date column.
    amount_col : str
        Net amount column (sales; returns negative).

    Returns
    -------
    Series
        P(no purchase within the horizon) per id in ``ids`` (NaN for a customer without a purchase
        before the cutoff).
    """
    s = customer_summary(tx, as_of=cutoff, date_col=date_col, id_col=id_col, amount_col=amount_col)
    s = s[s["frequency"] > 0].set_index("customer_id")
    p = no_purchase_probability(
        s["frequency"], s["recency_days"], s["tenure_days"], horizon_days=horizon_days
    )
    return pd.Series(p, index=s.index).reindex(ids)


def no_purchase_probability(
    frequency, recency_days, tenure_days, *, horizon_days: int
) -> np.ndarray:
    """BG/NBD fitted on these customers (weeks as the unit); P(no purchase in the horizon) of each.

    Parameters
    ----------
    frequency : array-like
        Purchase days before the cutoff (at least 1), per customer.
    recency_days, tenure_days : array-like
        Days from the last and from the first purchase to the cutoff.
    horizon_days : int
        Length of the horizon in days.

    Returns
    -------
    ndarray
        P(no purchase within the horizon), in the order of the inputs.
    """
    week = 7.0
    frequency, recency, tenure = (np.asarray(v) for v in (frequency, recency_days, tenure_days))
    x, t_x, T = frequency - 1, (tenure - recency) / week, tenure / week
    model = BetaGeoModel().fit(x, t_x, T)
    return model.p_no_purchase(horizon_days / week, x, t_x, T)
