"""The churn study (流失回测): a leakage-free backtest on transactions, or a split of a customer table.

For a report period ending at ``end`` (exclusive) and a horizon ``h``:

- train: features as of ``end - 2h``, labels from ``[end - 2h, end - h)``;
- test: features as of ``end - h``, labels from ``[end - h, end)``;
- scoring now: the chosen model refitted on the test window (the latest labelled
  one) scores every customer active at ``end`` for the next ``h`` days.

Two baselines are scored on the same test window: the recency rule (days since
the last purchase) and a BG/NBD model (:mod:`analysis.churn.bgnbd`) fitted on the
history before the test cutoff.

A second entry, :func:`table_study`, takes a ready customer table with a label
(see :func:`analysis.churn.features.clean_customer_table`) and replaces the time
split with a stratified split.

Both return a :class:`ChurnResult`; its :class:`ScoredCustomers` holds what the
risk list (:func:`analysis.churn.explain.risk_scores`) needs, already computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, train_test_split

from analysis.churn.bgnbd import bgnbd_churn_probability
from analysis.churn.features import churn_features, churn_labels, clean_customer_table
from analysis.churn.models import (
    ChurnModel,
    as_model_input,
    fit_churn_model,
    one_thread,
    score_metrics,
    split_columns,
    stratified_folds,
)
from analysis.data.validation import DataError
from analysis.errors import InsufficientData

__all__ = [
    "FEATURE_TABLES",
    "SCORES",
    "ChurnResult",
    "ScoredCustomers",
    "backtest",
    "feature_tables",
    "from_customer_table",
    "table_study",
]

#: the scores compared on the test data: the model and the two baselines
SCORES = ("model", "baseline_recency", "baseline_alive")
#: optional tables whose feature families are added when present
FEATURE_TABLES = ("customers", "receivables", "interactions")


@dataclass(frozen=True)
class ScoredCustomers:
    """The customers to act on, scored: what the risk list needs, nothing recomputed later.

    Attributes
    ----------
    model : ChurnModel
        The model whose probabilities these are; its logistic explainer gives the reasons.
        Transactions: the chosen model refitted on the latest labelled window.  Table: the
        model chosen on the training split.
    features : DataFrame
        One row per customer to score (index ``customer_id``): the model's input.
        Transactions: every customer active at the report end, features as of the end.
        Table: the customers not yet churned.
    probability : Series
        Churn probability per customer (same index).  Table: out of fold, each customer
        scored by models that never saw it.
    value : Series
        Sales at risk per customer (NaN when unknown), named by ``value_name``.
    value_name : str
        ``"sales_12m"`` (transactions: trailing 12-month sales) or ``"customer_value"``
        (table: the value column, if any).
    recency_days : Series or None
        Days since the last purchase (transactions only).
    """

    model: ChurnModel
    features: pd.DataFrame
    probability: pd.Series
    value: pd.Series
    value_name: str
    recency_days: pd.Series | None = None


@dataclass
class ChurnResult:
    """Everything a churn report shows: test predictions, metrics, the fitted model, the scores now.

    Attributes
    ----------
    mode : str
        ``"transactions"`` (:func:`backtest`) or ``"table"`` (:func:`table_study`).
    predictions : DataFrame
        Test customers: ``churned`` and one probability column per name in :data:`SCORES`.
    metrics : DataFrame
        :func:`~analysis.churn.models.score_metrics` per score (rows) on the test data.
    model : ChurnModel
        The model chosen and fitted on the training data.
    n_train, n_test : int
        Customers in the training and test data.
    scoring : ScoredCustomers
        The customers to act on, scored (see :func:`analysis.churn.explain.risk_scores`).
    horizon_days : int or None
        The label horizon (transactions only).
    cutoffs : dict
        ``train``, ``test`` and ``score`` cutoffs (transactions only).
    train_churn_rate : float or None
        Observed churn rate in the training window (transactions only).
    test_sales : Series or None
        Trailing 12-month sales of the test customers at the test cutoff (transactions only).
    notes : list of dict
        Cleaning notes of a customer table (table only).
    """

    mode: str
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    model: ChurnModel
    n_train: int
    n_test: int
    scoring: ScoredCustomers
    horizon_days: int | None = None
    cutoffs: dict = field(default_factory=dict)
    train_churn_rate: float | None = None
    test_sales: pd.Series | None = None
    notes: list = field(default_factory=list)

    @property
    def churn_rate(self) -> float:
        """Observed churn rate in the test window (or test split)."""
        return float(self.predictions["churned"].mean())


def feature_tables(ds) -> dict:
    """The optional tables of a dataset that churn features use.

    Parameters
    ----------
    ds : analysis.data.io.Dataset
        The loaded data.

    Returns
    -------
    dict
        Table name -> DataFrame for each of :data:`FEATURE_TABLES` present in ``ds``.
    """
    return {name: ds.get(name) for name in FEATURE_TABLES if ds.get(name) is not None}


def _window(tx, cutoff, *, horizon_days, active_days, trend_days, tables):
    X = churn_features(tx, cutoff, active_days=active_days, trend_days=trend_days, **tables)
    y = churn_labels(tx, cutoff, horizon_days=horizon_days, active_days=active_days)
    X = X.set_index("customer_id")
    return X, y.set_index("customer_id")["churned"].reindex(X.index)


@one_thread
def backtest(
    tx: pd.DataFrame,
    end,
    *,
    horizon_days: int = 90,
    active_days: int | None = 365,
    trend_days: int = 90,
    tables: dict | None = None,
    cv_folds: int = 5,
    random_state: int = 0,
    candidates: tuple[str, ...] | None = None,
) -> ChurnResult:
    """Fit on the window before the last, evaluate on the last labelled window, score now.

    Baselines on the test window: ``baseline_recency`` (logistic on log recency,
    fitted on the training window; its ranking is the plain recency rule) and
    ``baseline_alive`` (BG/NBD P(no purchase within the horizon)).  Then the chosen
    model is refitted on the test window and scores every customer active at ``end``
    (:attr:`ChurnResult.scoring`).

    Parameters
    ----------
    tx : DataFrame
        Transactions: ``customer_id``, ``date``, ``amount`` (``cost`` optional).
    end : date-like
        Exclusive end of the report period (its first day after).
    horizon_days : int
        A customer churns when it makes no purchase within this many days.
    active_days : int or None
        Customers who bought within this many days before a cutoff are scored (None: ever).
    trend_days : int
        Length of the periods compared by the trend features.
    tables : dict, optional
        Optional tables for more feature families (:func:`feature_tables`).
    cv_folds : int
        Folds for the model choice and the calibration.
    random_state : int
        Seed of the folds and the boosted trees.
    candidates : tuple of str, optional
        Names from :func:`~analysis.churn.models.candidate_models` (default all).

    Returns
    -------
    ChurnResult
        ``mode="transactions"``.

    Raises
    ------
    InsufficientData
        When a window has no active customer, a class is too small to fit, or nobody
        is active at ``end``.
    """
    end, h = pd.Timestamp(end), pd.Timedelta(days=horizon_days)
    tables = {k: v for k, v in (tables or {}).items() if v is not None}
    kw = dict(
        horizon_days=horizon_days, active_days=active_days, trend_days=trend_days, tables=tables
    )
    X_tr, y_tr = _window(tx, end - 2 * h, **kw)
    X_te, y_te = _window(tx, end - h, **kw)
    if len(X_tr) == 0 or len(X_te) == 0:
        raise InsufficientData(
            f"no active customers before {end - 2 * h:%Y-%m-%d} or {end - h:%Y-%m-%d}: the "
            f"transactions must cover at least {2 * horizon_days} days before the report end"
        )
    model = fit_churn_model(
        X_tr, y_tr, cv_folds=cv_folds, random_state=random_state, candidates=candidates
    )
    rec = LogisticRegression(C=1.0).fit(np.log1p(X_tr[["recency_days"]].to_numpy()), y_tr)
    pred = pd.DataFrame(
        {
            "churned": y_te,
            "model": model.predict_proba(X_te),
            "baseline_recency": rec.predict_proba(np.log1p(X_te[["recency_days"]].to_numpy()))[
                :, 1
            ],
            "baseline_alive": bgnbd_churn_probability(
                tx, end - h, X_te.index, horizon_days=horizon_days
            ),
        },
        index=X_te.index,
    )
    metrics = pd.DataFrame({k: score_metrics(pred["churned"], pred[k]) for k in SCORES}).T
    return ChurnResult(
        mode="transactions",
        predictions=pred,
        metrics=metrics,
        model=model,
        n_train=len(X_tr),
        n_test=len(X_te),
        scoring=_score_now(
            tx,
            end,
            X_te,
            y_te,
            model,
            cv_folds=cv_folds,
            random_state=random_state,
            active_days=active_days,
            trend_days=trend_days,
            tables=tables,
        ),
        horizon_days=horizon_days,
        cutoffs={"train": end - 2 * h, "test": end - h, "score": end},
        train_churn_rate=float(y_tr.mean()),
        test_sales=X_te["sales_12m"],
    )


def _score_now(
    tx, end, X_te, y_te, chosen, *, cv_folds, random_state, active_days, trend_days, tables
):
    """The chosen model refitted on the latest labelled window, scoring the customers active at end."""
    X_now = churn_features(
        tx, end, active_days=active_days, trend_days=trend_days, **tables
    ).set_index("customer_id")
    if len(X_now) == 0:
        raise InsufficientData(f"no customer is active at {end:%Y-%m-%d}: nobody to score")
    model = fit_churn_model(
        X_te, y_te, cv_folds=cv_folds, random_state=random_state, force=chosen.name
    )
    return ScoredCustomers(
        model=model,
        features=X_now,
        probability=pd.Series(model.predict_proba(X_now), index=X_now.index),
        value=X_now["sales_12m"],
        value_name="sales_12m",
        recency_days=X_now["recency_days"],
    )


@one_thread
def table_study(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    test_size: float = 0.25,
    cv_folds: int = 5,
    random_state: int = 0,
    value: pd.Series | None = None,
    notes: list | None = None,
    candidates: tuple[str, ...] | None = None,
) -> ChurnResult:
    """The second entry: a stratified train/test split of a ready customer table.

    There is no time axis, so no recency or BG/NBD baseline: those rows are NaN.  The
    customers not yet churned are scored out of fold (:attr:`ChurnResult.scoring`).

    Parameters
    ----------
    X : DataFrame
        Features, one row per customer (index: customer id).
    y : Series
        0/1 churn labels aligned with ``X``.
    test_size : float
        Share of customers held out for the test.
    cv_folds : int
        Folds for the model choice, the calibration and the out-of-fold scores.
    random_state : int
        Seed of the split, the folds and the boosted trees.
    value : Series, optional
        Each customer's sales or fee (aligned with ``X``), for expected lost sales.
    notes : list of dict, optional
        Cleaning notes to carry into the result.
    candidates : tuple of str, optional
        Names from :func:`~analysis.churn.models.candidate_models` (default all).

    Returns
    -------
    ChurnResult
        ``mode="table"``.
    """
    y = pd.Series(np.asarray(y, dtype="int64"), index=X.index)
    stratified_folds(y, 2, random_state)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=random_state
    )
    model = fit_churn_model(
        X_tr, y_tr, cv_folds=cv_folds, random_state=random_state, candidates=candidates
    )
    pred = pd.DataFrame(
        {
            "churned": y_te,
            "model": model.predict_proba(X_te),
            "baseline_recency": np.nan,
            "baseline_alive": np.nan,
        },
        index=X_te.index,
    )
    metrics = pd.DataFrame({k: score_metrics(pred["churned"], pred[k]) for k in SCORES}).T
    oof = cross_val_predict(
        clone(model.calibrated),
        as_model_input(X),
        y,
        cv=stratified_folds(y, cv_folds, random_state),
        method="predict_proba",
    )[:, 1]
    keep = (y == 0).to_numpy()
    X_now = X[keep]
    return ChurnResult(
        mode="table",
        predictions=pred,
        metrics=metrics,
        model=model,
        n_train=len(X_tr),
        n_test=len(X_te),
        scoring=ScoredCustomers(
            model=model,
            features=X_now,
            probability=pd.Series(oof[keep], index=X_now.index),
            value=value[keep] if value is not None else pd.Series(np.nan, index=X_now.index),
            value_name="customer_value",
        ),
        notes=list(notes or []),
    )


def from_customer_table(
    raw: pd.DataFrame,
    *,
    label_col: str,
    id_col: str = "",
    value_col: str = "",
    test_size: float = 0.25,
    cv_folds: int = 5,
    random_state: int = 0,
) -> ChurnResult:
    """Clean a raw customer export and run :func:`table_study` on it.

    Parameters
    ----------
    raw : DataFrame
        The export as read (:func:`~analysis.churn.features.clean_customer_table` cleans it).
    label_col : str
        The churn label column (yes/no, 1/0, true/false).
    id_col : str
        The customer id column; empty means row numbers.
    value_col : str
        Numeric column of sales or fees for expected lost sales; empty means none.
    test_size, cv_folds, random_state
        As in :func:`table_study`.

    Returns
    -------
    ChurnResult
        ``mode="table"``, with the cleaning notes.

    Raises
    ------
    DataError
        When ``value_col`` is not a numeric column of the cleaned table.
    """
    X, y, notes = clean_customer_table(raw, label_col=label_col, id_col=id_col)
    value = None
    if value_col:
        if value_col not in X.columns or not pd.api.types.is_numeric_dtype(X[value_col]):
            raise DataError(
                f"value column {value_col!r} is not a numeric column of the table "
                f"(numeric columns: {', '.join(split_columns(X)[0])})",
                column=value_col,
            )
        value = X[value_col]
    return table_study(
        X,
        y,
        test_size=test_size,
        cv_folds=cv_folds,
        random_state=random_state,
        value=value,
        notes=notes,
    )
