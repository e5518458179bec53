"""Churn explanation (流失原因与风险名单): reasons in words, the risk list, churn by ABC class.

A reason is a feature whose contribution to the logit of the logistic explainer
(against the training average) raises the risk.  :func:`risk_scores` turns the
scored customers of a :class:`~analysis.churn.backtest.ChurnResult` into the risk
list: probability, expected lost sales, ABC class and reasons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.churn.backtest import ChurnResult
from analysis.churn.models import CHUNK_ROWS, ChurnModel
from analysis.classify.classes import abc_classes
from analysis.viz.labels import label, label_or

__all__ = [
    "RISK_COLUMNS",
    "abc_of",
    "churn_by_class",
    "explain",
    "risk_list",
    "risk_scores",
    "sample_note",
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
    value = s.value.astype("float64")
    classes = abc_of(value, abc_cutoffs)  # before the reasons, the bulk, exist
    reasons = explain(s.model, s.features, lang=lang, n_reasons=n_reasons)
    extra = {} if s.recency_days is None else {"recency_days": s.recency_days}
    out = pd.DataFrame(
        {
            "churn_probability": s.probability,
            s.value_name: value,
            "expected_lost_sales": s.probability * value.clip(lower=0),
            "customer_class": classes,
            **extra,
        },
        index=s.features.index,
    )
    if not reasons.index.equals(out.index):  # pragma: no cover - explain keeps the index
        out = out.join(reasons)
        reasons = reasons.iloc[:, :0]
    out = out.rename_axis("customer_id").reset_index()
    # ids already in order (the transactions' customers are): a stable sort by risk keeps them
    by = ["churn_probability"] if out["customer_id"].is_monotonic_increasing else None
    order = (
        out[["customer_id", "churn_probability"]]
        .sort_values(
            by or ["churn_probability", "customer_id"],
            ascending=[False] if by else [False, True],
            kind="stable",
        )
        .index.to_numpy()
    )
    out = out.take(order).reset_index(drop=True)
    # the reason texts, the bulk of the list, are put in that order one column at a time
    for c in list(reasons.columns):
        out[c] = reasons.pop(c).array.take(order)
    return out


def sample_note(result: ChurnResult, lang: str = "zh") -> str:
    """What the study fitted on part of its customers, in words; empty when it used them all.

    Parameters
    ----------
    result : ChurnResult
        From :func:`~analysis.churn.backtest.backtest` or
        :func:`~analysis.churn.backtest.table_study`.
    lang : str
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        One sentence each: the training sample, the held-out calibration fold, the refit sample
        of the scoring model, the subsample the candidates were compared on.
    """
    n = "{:,}".format
    m = result.model
    said = [
        (
            result.n_train_used < result.n_train,
            "churn_note_train_sample",
            dict(used=n(result.n_train_used), total=n(result.n_train)),
        ),
        (
            m.n_calibration > 0,
            "churn_note_calibration_fold",
            dict(calibration=n(m.n_calibration), fit=n(m.n_fit - m.n_calibration)),
        ),
        (
            result.n_refit_used is not None and result.n_refit_used < result.n_test,
            "churn_note_refit_sample",
            dict(used=n(result.n_refit_used or 0), total=n(result.n_test)),
        ),
        (
            result.n_choice < result.n_train_used,
            "churn_note_choice_sample",
            dict(used=n(result.n_choice), total=n(result.n_train_used)),
        ),
    ]
    parts = [label(key, lang, **values) for shown, key, values in said if shown]
    return ("" if lang == "zh" else " ").join(parts)


def _feature_label(name: str, lang: str) -> str:
    return label_or(f"churn_feat_{name}", str(name), lang)


def _fmt_value(name: str, v) -> str:
    if isinstance(v, str):
        return v
    if v is None or pd.isna(v):
        return "–"
    return _fmt_number(name, v)


def _fmt_number(name: str, v: float) -> str:
    if name in _PCT_FEATURES:
        return f"{v:.0%}"
    return f"{v:,.0f}" if abs(v) >= 10 or float(v).is_integer() else f"{v:.2f}"


def _template(key: str, lang: str, **fmt) -> tuple[str, str]:
    """The label's text before and after its ``{value}``."""
    head, _, tail = label(key, lang, value="\x00", **fmt).partition("\x00")
    return head, tail


def _reason_texts(
    model: ChurnModel, feature: str, X: pd.DataFrame, dev, rows, lang: str
) -> list[str]:
    """The reason ``feature`` gives the customers at positions ``rows``, in words.

    A category reads "<feature>: <value>", a blank number "no <feature> on record", a number
    "<feature> high/low (<value>)" by the side of the training average it lies on.  The labels
    are looked up once per feature, not once per customer.
    """
    if feature == "single_purchase":
        return [label("churn_reason_single_purchase", lang)] * len(rows)
    name = _feature_label(feature, lang)
    if feature not in model.numeric:
        head, tail = _template("churn_reason_is", lang, feature=name)
        return [f"{head}{_fmt_value(feature, v)}{tail}" for v in X[feature].to_numpy()[rows]]
    values = X[feature].to_numpy(dtype="float64", na_value=np.nan)[rows]
    col = f"num__{feature}"
    high = (
        dev[rows, model.z_names.index(col)] > 0
        if col in model.z_names
        else np.zeros(len(rows), dtype=bool)
    )
    missing = label("churn_reason_missing", lang, feature=name)
    sides = (
        _template("churn_reason_low", lang, feature=name),
        _template("churn_reason_high", lang, feature=name),
    )
    # each distinct (value, side) is written once: days, counts and shares repeat a lot
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    at, keys = pd.factorize(np.where(codes < 0, -1, codes * 2 + high))
    texts = [
        missing
        if k < 0
        else f"{sides[k & 1][0]}{_fmt_number(feature, distinct[k >> 1])}{sides[k & 1][1]}"
        for k in keys.tolist()
    ]
    return np.array(texts, dtype=object)[at]


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
    parts = [
        _explain_rows(model, X.iloc[i : i + CHUNK_ROWS], lang, n_reasons)
        for i in range(0, len(X), CHUNK_ROWS)
    ]
    cols = [f"reason_{i + 1}" for i in range(n_reasons)]
    if not parts:
        return pd.DataFrame(columns=["reasons", *cols], index=X.index, dtype=object)
    texts = np.concatenate(parts)
    reasons = {c: pd.array(texts[:, r], dtype="str") for r, c in enumerate(cols)}
    del texts, parts
    return pd.DataFrame({"reasons": _joined(list(reasons.values())), **reasons}, index=X.index)


def _joined(reasons: list) -> pd.api.extensions.ExtensionArray:
    """Each customer's reasons joined by "; ", a blank reason (after the first) left out.

    Reasons fill from the first column on, so a blank ends a customer's list.  Joined in
    Arrow: no Python string per customer.
    """
    first, *rest = (pa.array(r) for r in reasons)
    rest = [pc.if_else(pc.equal(a, ""), pa.scalar(None, a.type), a) for a in rest]
    sep = pa.scalar("; ", first.type)
    return pd.array(pc.binary_join_element_wise(first, *rest, sep, null_handling="skip"), "str")


def _explain_rows(model: ChurnModel, X: pd.DataFrame, lang: str, n_reasons: int) -> np.ndarray:
    """The reason texts of one chunk of customers: an object array, ``n_reasons`` per row."""
    contrib, dev = model.contributions(X)
    interval = [f for f in _INTERVAL_FEATURES if f in contrib.columns]
    if interval and "avg_interval_days" in X.columns:
        single = X["avg_interval_days"].isna() & (X.get("frequency", 0) <= 1)
        contrib = contrib.assign(single_purchase=contrib[interval].sum(axis=1).where(single, 0.0))
        contrib.loc[single, interval] = 0.0
    c = contrib.to_numpy(dtype="float64")
    # largest first, ties in column order; only positive contributions are reasons
    order = np.argsort(-c, axis=1, kind="stable")[:, :n_reasons]
    positive = np.take_along_axis(c, order, axis=1) > 0
    out = np.full((len(X), n_reasons), "", dtype=object)
    dev = dev.to_numpy()
    for j, feature in enumerate(contrib.columns):
        for r in range(order.shape[1]):
            rows = np.flatnonzero((order[:, r] == j) & positive[:, r])
            if len(rows):
                out[rows, r] = _reason_texts(model, feature, X, dev, rows, lang)
    return out


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
    # the class depends on the values only (equal values share one), so the rows are classed
    # under their positions and put back by position: no lookup of text ids
    frame = pd.DataFrame(
        {"customer_id": np.arange(len(value)), "value": value.fillna(0.0).to_numpy()}
    )
    out = abc_classes(frame, "value", cutoffs=cutoffs)
    cls = np.empty(len(value), dtype=object)
    cls[out["customer_id"].to_numpy()] = out["abc_class"].to_numpy()
    return pd.Series(cls, index=value.index, name="customer_class")


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
