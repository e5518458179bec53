"""Churn explanation (流失原因与风险名单): reasons in words, the risk list, churn by ABC class.

A reason is a feature whose contribution to the logit of the logistic explainer
(against the training average) raises the risk.  :func:`risk_scores` turns the
scored customers of a :class:`~analysis.churn.backtest.ChurnResult` into the risk
list: probability, expected lost sales, ABC class and reasons.
"""

from __future__ import annotations

import pandas as pd

from analysis.churn.backtest import ChurnResult
from analysis.churn.models import ChurnModel
from analysis.classify.classes import abc_classes
from analysis.viz.labels import label, label_or

__all__ = [
    "RISK_COLUMNS",
    "abc_of",
    "churn_by_class",
    "explain",
    "risk_list",
    "risk_scores",
]

#: columns of the risk list shown in the report
RISK_COLUMNS = (
    "customer_id",
    "name",
    "customer_class",
    "churn_probability",
    "sales_12m",
    "customer_value",
    "expected_lost_sales",
    "reasons",
)
_INTERVAL_FEATURES = ("avg_interval_days", "recency_ratio", "interval_cv")
_PCT_FEATURES = {"return_rate", "margin_rate", "overdue_share", "sales_trend"}


def risk_scores(
    result: ChurnResult,
    *,
    lang: str = "zh",
    n_reasons: int = 3,
    abc_cutoffs: tuple[float, float] = (0.75, 0.95),
) -> pd.DataFrame:
    """The customers to act on, with expected lost sales and reasons in words.

    The probabilities are those of ``result.scoring``
    (:class:`~analysis.churn.backtest.ScoredCustomers`): transactions, the chosen
    model refitted on the latest labelled window scoring every customer active at
    the report end; table, out-of-fold probabilities of the customers not yet churned.
    Nothing is refitted here.

    Parameters
    ----------
    result : ChurnResult
        From :func:`~analysis.churn.backtest.backtest` or
        :func:`~analysis.churn.backtest.table_study`.
    lang : str
        Language of the reasons (``"zh"`` or ``"en"``).
    n_reasons : int
        Reasons per customer at most.
    abc_cutoffs : tuple of float
        Cumulative value shares where classes A and B end.

    Returns
    -------
    DataFrame
        Sorted by churn probability: customer_id, churn_probability, sales_12m
        (table: customer_value), expected_lost_sales, customer_class (ABC by that
        value; "–" without values), recency_days (transactions), reasons
        (``; ``-joined text) and reason_1..n.
    """
    s = result.scoring
    reasons = explain(s.model, s.features, lang=lang, n_reasons=n_reasons)
    value = s.value.astype("float64")
    extra = {} if s.recency_days is None else {"recency_days": s.recency_days}
    out = pd.DataFrame(
        {
            "churn_probability": s.probability,
            s.value_name: value,
            "expected_lost_sales": s.probability * value.clip(lower=0),
            "customer_class": abc_of(value, abc_cutoffs),
            **extra,
        },
        index=s.features.index,
    ).join(reasons)
    return (
        out.rename_axis("customer_id")
        .reset_index()
        .sort_values(["churn_probability", "customer_id"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def _feature_label(name: str, lang: str) -> str:
    return label_or(f"churn_feat_{name}", str(name), lang)


def _fmt_value(name: str, v) -> str:
    if isinstance(v, str):
        return v
    if v is None or pd.isna(v):
        return "–"
    if name in _PCT_FEATURES:
        return f"{v:.0%}"
    return f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:.2f}"


def explain(
    model: ChurnModel, X: pd.DataFrame, *, lang: str = "zh", n_reasons: int = 3
) -> pd.DataFrame:
    """Top risk-raising features per customer in words, from the logistic explainer.

    A reason is a feature whose contribution to the logit (against the
    training average) is positive.  A number reads "<feature> high/low
    (<value>)" -- high when the customer lies above the training average --,
    a category "<feature>: <value>", a blank number "no <feature> on record".
    The interval features of a customer with a single purchase are one
    reason, "one purchase only".

    Parameters
    ----------
    model : ChurnModel
        Its logistic explainer gives the contributions.
    X : DataFrame
        Features of the customers to explain (index: customer id).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    n_reasons : int
        Reasons per customer at most.

    Returns
    -------
    DataFrame
        Same index as ``X``: ``reasons`` (``; ``-joined) and ``reason_1`` .. ``reason_<n_reasons>``
        (empty when fewer).
    """
    contrib, dev = model.contributions(X)
    interval = [f for f in _INTERVAL_FEATURES if f in contrib.columns]
    if interval and "avg_interval_days" in X.columns:
        single = X["avg_interval_days"].isna() & (X.get("frequency", 0) <= 1)
        contrib = contrib.assign(single_purchase=contrib[interval].sum(axis=1).where(single, 0.0))
        contrib.loc[single, interval] = 0.0
    rows = []
    for cid, c in contrib.iterrows():
        top = c[c > 0].sort_values(ascending=False).head(n_reasons)
        texts = [
            _reason_text(model, f, X.at[cid, f] if f in X.columns else None, dev.loc[cid], lang)
            for f in top.index
        ]
        rows.append(texts + [""] * (n_reasons - len(texts)))
    cols = [f"reason_{i + 1}" for i in range(n_reasons)]
    out = pd.DataFrame(rows, index=X.index, columns=cols)
    return out.assign(reasons=out[cols].apply(lambda r: "; ".join(t for t in r if t), axis=1))[
        ["reasons", *cols]
    ]


def _reason_text(model: ChurnModel, feature: str, value, dev: pd.Series, lang: str) -> str:
    if feature == "single_purchase":
        return label("churn_reason_single_purchase", lang)
    name = _feature_label(feature, lang)
    if feature not in model.numeric:
        return label("churn_reason_is", lang, feature=name, value=_fmt_value(feature, value))
    if pd.isna(value):
        return label("churn_reason_missing", lang, feature=name)
    key = "churn_reason_high" if dev.get(f"num__{feature}", 0.0) > 0 else "churn_reason_low"
    return label(key, lang, feature=name, value=_fmt_value(feature, value))


def risk_list(
    scored: pd.DataFrame, *, top_n: int = 30, customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The top-N customers by churn probability, with the customer's name when known.

    Parameters
    ----------
    scored : DataFrame
        From :func:`risk_scores` (sorted by risk).
    top_n : int
        Customers kept.
    customers : DataFrame, optional
        The customers table; its ``name`` column is added when present.

    Returns
    -------
    DataFrame
        The first ``top_n`` rows of ``scored``, with ``name`` after ``customer_id`` when known.
    """
    out = scored.head(top_n)
    if customers is not None and "name" in customers.columns:
        out = out.merge(customers[["customer_id", "name"]], on="customer_id", how="left")
        out = out[
            ["customer_id", "name", *[c for c in out.columns if c not in ("customer_id", "name")]]
        ]
    return out.reset_index(drop=True)


def abc_of(value: pd.Series, cutoffs: tuple[float, float] = (0.75, 0.95)) -> pd.Series:
    """ABC class of each customer by ``value`` (index = customer id), the rule of
    :func:`analysis.classify.classes.abc_classes`; "–" when no value is known.

    Parameters
    ----------
    value : Series
        Value per customer (index: customer id).
    cutoffs : tuple of float
        Cumulative value shares where classes A and B end.

    Returns
    -------
    Series
        ``customer_class`` per customer: A, B, C, or "–" when no value is known.
    """
    if value.isna().all():
        return pd.Series("–", index=value.index, name="customer_class")
    frame = pd.DataFrame(
        {"customer_id": value.index.astype(str), "value": value.fillna(0.0).to_numpy()}
    )
    cls = abc_classes(frame, "value", cutoffs=cutoffs).set_index("customer_id")["abc_class"]
    return pd.Series(
        cls.reindex(value.index.astype(str)).to_numpy(), index=value.index, name="customer_class"
    )


def churn_by_class(
    scored: pd.DataFrame, result: ChurnResult, *, abc_cutoffs: tuple[float, float] = (0.75, 0.95)
) -> pd.DataFrame:
    """Per ABC class: customers and risk now, and the churn observed in the test window.

    The observed rate classes the test window's customers by their trailing
    sales at the test cutoff (transactions only).

    Parameters
    ----------
    scored : DataFrame
        From :func:`risk_scores`.
    result : ChurnResult
        The study the scores come from.
    abc_cutoffs : tuple of float
        Cumulative value shares where classes A and B end.

    Returns
    -------
    DataFrame
        Per ``customer_class``: customers, mean_churn_probability, expected_lost_sales and
        (transactions) observed_churn_rate.
    """
    out = scored.groupby("customer_class").agg(
        customers=("customer_id", "size"),
        mean_churn_probability=("churn_probability", "mean"),
        expected_lost_sales=("expected_lost_sales", "sum"),
    )
    if result.test_sales is not None:
        then = abc_of(result.test_sales, abc_cutoffs)
        out = out.join(
            result.predictions["churned"].groupby(then).mean().rename("observed_churn_rate")
        )
    return out.reset_index()
