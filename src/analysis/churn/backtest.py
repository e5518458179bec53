"""The churn study (流失回测): a leakage-free backtest on transactions, or a split of a customer table.

For a report period ending at ``end`` (exclusive) and a horizon ``h``:

- train: features as of ``end - 2h``, labels from ``[end - 2h, end - h)``;
- test: features as of ``end - h``, labels from ``[end - h, end)``;
- scoring now: the chosen model refitted on the test window (the latest labelled
  one) scores every customer active at ``end`` for the next ``h`` days.

At scale (the project's choice, docs/methods.md): a window with more than
``train_sample`` customers is fitted on a stratified sample of them (by the churn
label, seeded), the candidates are compared on at most ``choice_sample`` of those,
a model whose folds hold :data:`CALIBRATION_FOLD` customers or more is calibrated on
one held-out fold instead of averaging one model per fold, and every customer is
still scored, in chunks.  The lines are sorted once
(:class:`~analysis.churn.history.TransactionHistory`) for all the windows.

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

from analysis.churn.bgnbd import no_purchase_probability
from analysis.churn.features import clean_customer_table, features_at, history_for
from analysis.churn.history import day_number
from analysis.churn.models import (
    ChurnModel,
    as_model_input,
    fit_churn_model,
    one_thread,
    score_metrics,
    split_columns,
    stratified_folds,
    stratified_sample,
)
from analysis.data.validated import shared_result
from analysis.data.validation import DataError
from analysis.errors import InsufficientData

__all__ = [
    "CALIBRATION_FOLD",
    "CHOICE_SAMPLE",
    "FEATURE_TABLES",
    "SCORES",
    "TRAIN_SAMPLE",
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
#: customers a model is fitted on at most (a stratified sample beyond)
TRAIN_SAMPLE = 200_000
#: customers the candidates are compared on at most (a stratified subsample beyond)
CHOICE_SAMPLE = 20_000
#: customers in one fold from which a model is calibrated on that one held-out fold
CALIBRATION_FOLD = 5_000


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
    n_train_used : int
        Customers the model was fitted on: ``n_train``, or the stratified sample's size
        when the training data had more than ``train_sample``.
    n_refit_used : int or None
        Customers of the test window the scoring model was refitted on (transactions only).
    n_choice : int
        Customers the candidates were compared on (cross-validation).
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
    n_train_used: int | None = None
    n_refit_used: int | None = None
    n_choice: int | None = None

    def __post_init__(self):
        if self.n_train_used is None:
            self.n_train_used = self.n_train
        if self.n_choice is None:
            self.n_choice = self.model.n_choice or self.n_train_used

    @property
    def churn_rate(self) -> float:
        """Observed churn rate in the test window (or test split)."""
        return float(self.predictions["churned"].mean())

    @property
    def sampled(self) -> bool:
        """Whether a model was fitted or chosen on a sample of its window's customers."""
        refit = self.n_refit_used is not None and self.n_refit_used < self.n_test
        return self.n_train_used < self.n_train or refit or self.n_choice < self.n_train_used


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


def _sample(X, y, n, random_state, cv_folds):
    """(X, y) or a stratified sample of ``n`` of their rows, and how many folds to calibrate on:
    one (fit on (k-1)/k, calibrate on the other 1/k) when a fold holds :data:`CALIBRATION_FOLD`
    customers or more, else all of them."""
    keep = stratified_sample(y, n, random_state)
    if len(keep) < len(y):
        X, y = X.iloc[keep], y.iloc[keep]
    return X, y, (1 if len(y) // cv_folds >= CALIBRATION_FOLD else None)


def _alive_inputs(history, cutoff) -> dict:
    """What the BG/NBD baseline needs of the history before ``cutoff`` (:func:`_alive_baseline`):
    the customers with a purchase, their purchase days and days since the last and the first."""
    snap = history.snapshot(day_number(cutoff))
    bought = np.flatnonzero(snap.frequency > 0)
    return dict(
        ids=history.ids[bought],
        frequency=snap.frequency[bought],
        recency_days=snap.cutoff - snap.last_day[bought],
        tenure_days=snap.cutoff - snap.first_day[bought],
    )


def _alive_baseline(inputs: dict, ids, horizon_days) -> pd.Series:
    """BG/NBD fitted on every customer of :func:`_alive_inputs`; P(no purchase) of ``ids``."""
    p = no_purchase_probability(
        inputs["frequency"],
        inputs["recency_days"],
        inputs["tenure_days"],
        horizon_days=horizon_days,
    )
    return pd.Series(p, index=inputs["ids"]).reindex(ids)


def _forget(history, cutoff) -> None:
    """Drop the snapshot ``history`` keeps for ``cutoff``, when it can
    (:meth:`~analysis.churn.history.TransactionHistory.forget`)."""
    forget = getattr(history, "forget", None)
    if forget is not None:
        forget(day_number(cutoff))


@shared_result  # pages 04 and 09 of one report run share it
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
    train_sample: int | None = TRAIN_SAMPLE,
    choice_sample: int | None = CHOICE_SAMPLE,
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
    train_sample : int or None
        A window with more customers is fitted on a stratified sample of this many (by the
        churn label, seeded by ``random_state``); None or 0: always on all.
    choice_sample : int or None
        The candidates are compared on at most this many of the fitted customers (a
        stratified subsample); None or 0: on all.

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
    history = history_for(tx)
    kw = dict(active_days=active_days, trend_days=trend_days, **tables)
    X_tr, y_tr = features_at(history, end - 2 * h, horizon_days=horizon_days, **kw)
    _forget(history, end - 2 * h)
    X_te, y_te = features_at(history, end - h, horizon_days=horizon_days, **kw)
    if len(X_tr) == 0 or len(X_te) == 0:
        raise InsufficientData(
            f"no active customers before {end - 2 * h:%Y-%m-%d} or {end - h:%Y-%m-%d}: the "
            f"transactions must cover at least {2 * horizon_days} days before the report end"
        )
    # of the training window, only what is used further on is kept
    fit = dict(cv_folds=cv_folds, random_state=random_state)
    n_train, train_churn_rate = len(X_tr), float(y_tr.mean())
    rec_x = np.log1p(X_tr[["recency_days"]].to_numpy())
    X_fit, y_fit, folds = _sample(X_tr, y_tr, train_sample, random_state, cv_folds)
    del X_tr  # X_fit is all of it or a sample
    # everything the sorted lines give first, so that they are freed before any model is fitted
    alive_inputs = _alive_inputs(history, end - h)
    _forget(history, end - h)
    X_now, _ = features_at(history, end, **kw)
    del history
    model = fit_churn_model(
        X_fit,
        y_fit,
        candidates=candidates,
        choice_sample=choice_sample,
        calibration_folds=folds,
        **fit,
    )
    n_fit = len(X_fit)
    del X_fit, y_fit
    rec = LogisticRegression(C=1.0).fit(rec_x, y_tr)
    del rec_x, y_tr
    alive = _alive_baseline(alive_inputs, X_te.index, horizon_days)
    del alive_inputs
    pred = pd.DataFrame(
        {
            "churned": y_te,
            "model": model.predict_proba(X_te),
            "baseline_recency": rec.predict_proba(np.log1p(X_te[["recency_days"]].to_numpy()))[
                :, 1
            ],
            "baseline_alive": alive,
        },
        index=X_te.index,
    )
    metrics = pd.DataFrame({k: score_metrics(pred["churned"], pred[k]) for k in SCORES}).T
    X_re, y_re, re_folds = _sample(X_te, y_te, train_sample, random_state, cv_folds)
    scoring = _score_now(X_now, end, X_re, y_re, model, calibration_folds=re_folds, **fit)
    return ChurnResult(
        mode="transactions",
        predictions=pred,
        metrics=metrics,
        model=model,
        n_train=n_train,
        n_test=len(X_te),
        scoring=scoring,
        horizon_days=horizon_days,
        cutoffs={"train": end - 2 * h, "test": end - h, "score": end},
        train_churn_rate=train_churn_rate,
        test_sales=X_te["sales_12m"],
        n_train_used=n_fit,
        n_refit_used=scoring.model.n_fit,
        n_choice=model.n_choice,
    )


def _score_now(X_now, end, X_te, y_te, chosen, *, cv_folds, random_state, calibration_folds):
    """The chosen model refitted on the latest labelled window, scoring the customers active at end."""
    if len(X_now) == 0:
        raise InsufficientData(f"no customer is active at {end:%Y-%m-%d}: nobody to score")
    model = fit_churn_model(
        X_te,
        y_te,
        cv_folds=cv_folds,
        random_state=random_state,
        force=chosen.name,
        calibration_folds=calibration_folds,
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
    choice_sample: int | None = CHOICE_SAMPLE,
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
    choice_sample : int or None
        The candidates are compared on at most this many training customers (a stratified
        subsample); None or 0: on all.

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
        X_tr,
        y_tr,
        cv_folds=cv_folds,
        random_state=random_state,
        candidates=candidates,
        choice_sample=choice_sample,
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
    choice_sample: int | None = CHOICE_SAMPLE,
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
    test_size, cv_folds, random_state, choice_sample
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
        choice_sample=choice_sample,
    )
