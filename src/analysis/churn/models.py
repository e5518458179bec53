"""Churn classifiers (流失模型): the candidates, the choice by cross-validation, calibration, metrics.

The model is picked among a regularised logistic regression (two L2 strengths) and
gradient boosted trees by stratified cross-validation on the training data only,
then calibrated (sigmoid, :class:`~sklearn.calibration.CalibratedClassifierCV`).
A logistic model is always fitted beside the chosen one: its logit contributions
give each customer's reasons (:mod:`analysis.churn.explain`).  Scores are compared
by ROC AUC, PR AUC, Brier score and top-decile lift, with gains and calibration
tables for the charts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from analysis.errors import InsufficientData

__all__ = [
    "METRICS",
    "ChurnModel",
    "as_model_input",
    "calibration_table",
    "candidate_models",
    "fit_churn_model",
    "gains_table",
    "one_thread",
    "score_metrics",
    "split_columns",
    "stratified_folds",
    "stratified_sample",
]

#: the keys of :func:`score_metrics`
METRICS = ("auc", "pr_auc", "brier", "lift_top_decile")
#: rows scored at a time: bounds the memory of a prediction, not its result
CHUNK_ROWS = 65_536
#: chunks are whole multiples of this many rows (see :meth:`ChurnModel.predict_proba`)
CHUNK_UNIT = 64


def one_thread(func):
    """Decorate ``func`` to run with one BLAS and OpenMP thread.

    On a small shared machine the thread pool spins against other processes and a
    fit takes ten times longer.

    Parameters
    ----------
    func : callable
        The function to wrap.

    Returns
    -------
    callable
        ``func`` run inside ``threadpool_limits(limits=1)``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


def _signed_log1p(a):
    return np.sign(a) * np.log1p(np.abs(a))


def split_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split the feature columns into numeric and categorical ones.

    Parameters
    ----------
    X : DataFrame
        Features, one row per customer.

    Returns
    -------
    tuple of (list of str, list of str)
        The numeric columns (booleans excluded) and the others, in column order.
    """
    num = [
        c
        for c in X.columns
        if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
    ]
    return num, [c for c in X.columns if c not in num]


def as_model_input(X: pd.DataFrame) -> pd.DataFrame:
    """The features as the candidate pipelines take them.

    Parameters
    ----------
    X : DataFrame
        Features, one row per customer.

    Returns
    -------
    DataFrame
        A new frame: numeric columns as float64, the others as object with NaN for
        missing values.
    """
    num, cat = split_columns(X)
    return X.assign(
        **{c: X[c].astype(object).where(X[c].notna(), np.nan) for c in cat},
        **{c: X[c].astype("float64") for c in num},
    )


def candidate_models(num_cols, cat_cols, *, random_state: int) -> dict[str, Pipeline]:
    """The candidates: logistic regression at two L2 strengths and gradient-boosted trees.

    Parameters
    ----------
    num_cols : list of str
        Numeric feature columns.
    cat_cols : list of str
        Categorical feature columns.
    random_state : int
        Seed of the boosted trees.

    Returns
    -------
    dict of str to Pipeline
        Unfitted pipelines by name: ``logistic_c0.1``, ``logistic_c1`` and ``gradient_boosting``.
    """
    log_num = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True)),
            ("log", FunctionTransformer(_signed_log1p, feature_names_out="one-to-one")),
            ("scale", StandardScaler()),
        ]
    )
    one_hot = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="ignore")),
        ]
    )
    linear_pre = ColumnTransformer(
        [("num", log_num, list(num_cols)), ("cat", one_hot, list(cat_cols))], sparse_threshold=0
    )
    tree_pre = ColumnTransformer(
        [
            ("num", "passthrough", list(num_cols)),
            (
                "cat",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    encoded_missing_value=np.nan,
                ),
                list(cat_cols),
            ),
        ]
    )
    cat_mask = [False] * len(num_cols) + [True] * len(cat_cols)
    hgb = HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        categorical_features=cat_mask if cat_cols else None,
        early_stopping=False,
        random_state=random_state,
    )
    out = {
        f"logistic_c{c:g}": Pipeline(
            [("pre", clone(linear_pre)), ("clf", LogisticRegression(C=c, max_iter=2000))]
        )
        for c in (0.1, 1.0)
    }
    out["gradient_boosting"] = Pipeline([("pre", tree_pre), ("clf", hgb)])
    return out


@dataclass
class ChurnModel:
    """A fitted, calibrated churn classifier plus the logistic model that explains it.

    ``n_fit`` customers trained it; ``n_choice`` of them chose it by cross-validation
    (fewer when the choice ran on a subsample, see :func:`fit_churn_model`);
    ``n_calibration`` of them calibrated it when it was calibrated on one held-out fold
    (0: cross-fitted on all folds).
    """

    name: str
    calibrated: CalibratedClassifierCV
    explainer: Pipeline
    cv_scores: pd.DataFrame
    features: list[str]
    numeric: list[str]
    z_mean: np.ndarray | None = None
    z_names: list[str] | None = None
    z_source: list[str] | None = None
    n_fit: int = 0
    n_choice: int = 0
    n_calibration: int = 0

    @one_thread
    def predict_proba(self, X: pd.DataFrame, *, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
        """Calibrated churn probability of each row, ``chunk_rows`` rows at a time.

        The chunks change the memory used, not the result.  Every step scores a row on its own
        except the logistic model's product of the rows with its coefficients: the BLAS kernel
        takes the rows in small blocks (4 here) and a row left over at the end of a call is
        summed in another order.  Chunks of whole multiples of :data:`CHUNK_UNIT` rows keep every
        row in the block it has in one call, so the probabilities are the same to the last bit.

        Parameters
        ----------
        X : DataFrame
            Features with at least the model's columns.
        chunk_rows : int
            Rows converted and scored at a time: a positive multiple of :data:`CHUNK_UNIT`.

        Returns
        -------
        ndarray
            Calibrated churn probability per row.
        """
        if chunk_rows < 1 or chunk_rows % CHUNK_UNIT:
            raise ValueError(
                f"chunk_rows must be a positive multiple of {CHUNK_UNIT}, got {chunk_rows}"
            )
        X = X[self.features]
        parts = [
            self.calibrated.predict_proba(as_model_input(X.iloc[i : i + chunk_rows]))[:, 1]
            for i in range(0, len(X), chunk_rows)
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def contributions(self, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Logit contributions of the logistic explainer against the training mean.

        Parameters
        ----------
        X : DataFrame
            Features with at least the model's columns.

        Returns
        -------
        tuple of (DataFrame, DataFrame)
            Contributions per original feature (summed over its one-hot and missing-indicator
            columns), and each transformed column's deviation from the training mean.
        """
        pre, clf = self.explainer.named_steps["pre"], self.explainer.named_steps["clf"]
        dev = pre.transform(as_model_input(X[self.features])) - self.z_mean
        per_col = pd.DataFrame(dev * clf.coef_[0], index=X.index, columns=self.z_source)
        grouped = per_col.T.groupby(level=0, sort=False).sum().T
        return grouped, pd.DataFrame(dev, index=X.index, columns=self.z_names)


def stratified_folds(y: pd.Series, folds: int, random_state: int) -> StratifiedKFold:
    """Shuffled stratified folds, fewer than ``folds`` when a class is small.

    Parameters
    ----------
    y : Series
        0/1 labels.
    folds : int
        Folds wanted; at most the size of the smaller class, at least 2.
    random_state : int
        Seed of the shuffle.

    Returns
    -------
    StratifiedKFold
        The splitter.

    Raises
    ------
    InsufficientData
        When a class has fewer than two customers.
    """
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 2:
        raise InsufficientData(
            f"too few customers in one class to fit a model ({int(y.sum())} churned, "
            f"{int(len(y) - y.sum())} stayed); need at least 2 of each"
        )
    return StratifiedKFold(
        n_splits=max(2, min(folds, minority)), shuffle=True, random_state=random_state
    )


def stratified_sample(y, n: int | None, random_state: int) -> np.ndarray:
    """Positions of a random sample of ``n`` rows that keeps each class's share of ``y``.

    Each class gets its share of ``n`` rounded down, and the rows left over go to the classes
    with the largest remainders (the first class on a tie), so a class's count is within one
    row of its exact share.  The rows of a class are drawn without replacement by
    :func:`numpy.random.default_rng` seeded with ``random_state``.  With ``n`` empty or at
    least ``len(y)`` every row is kept, in order (no sampling).

    Parameters
    ----------
    y : array-like
        Class labels (the churn label), one per row.
    n : int or None
        Rows wanted.
    random_state : int
        Seed of the draw.

    Returns
    -------
    ndarray
        Sorted row positions (int64).
    """
    y = np.asarray(y)
    if not n or n >= len(y):
        return np.arange(len(y))
    if n < 1:
        raise ValueError(f"the sample size must be positive, got {n}")
    codes, _ = pd.factorize(y, sort=True)
    counts = np.bincount(codes)
    exact = counts * n / len(y)
    take = np.floor(exact).astype(np.int64)
    short = n - int(take.sum())
    take[np.argsort(-(exact - take), kind="stable")[:short]] += 1
    rng = np.random.default_rng(random_state)
    picked = [
        rng.choice(np.flatnonzero(codes == k), size=int(m), replace=False)
        for k, m in enumerate(take)
    ]
    return np.sort(np.concatenate(picked))


def _source_of(names, num_cols, cat_cols) -> list[str]:
    out = []
    for n in names:
        part, rest = n.split("__", 1)
        if part == "num":
            out.append(rest.removeprefix("missingindicator_"))
        else:
            out.append(max((c for c in cat_cols if rest.startswith(f"{c}_")), key=len))
    return out


@one_thread
def fit_churn_model(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    cv_folds: int = 5,
    random_state: int = 0,
    candidates: tuple[str, ...] | None = None,
    force: str | None = None,
    choice_sample: int | None = None,
    calibration_folds: int | None = None,
) -> ChurnModel:
    """Pick a candidate by cross-validated ROC AUC on (X, y), calibrate it, fit the explainer.

    Parameters
    ----------
    X, y : DataFrame, Series
        Training features and 0/1 labels (the training window only).
    cv_folds : int
        Folds for selection and for calibration (fewer when a class is small).
    random_state : int
        Seeds the folds, the trees and the choice subsample.
    candidates : tuple of str, optional
        Names from :func:`candidate_models` to consider (default all).
    force : str, optional
        Skip the selection and use this candidate (used to refit a chosen model).
    choice_sample : int, optional
        When there are more rows, the candidates are compared on a stratified sample of this
        many (:func:`stratified_sample`); the chosen one is still calibrated on all rows.
    calibration_folds : int, optional
        How many of the folds the calibrated model averages (default all): each fold's model
        is fitted on the other folds and calibrated on its own.  ``1`` fits one model on
        (k-1)/k of the rows and calibrates it on the rest: at scale, where one fold holds
        plenty of customers, this costs one fit and one model per prediction instead of k.

    Returns
    -------
    ChurnModel
        The chosen candidate, calibrated, with its cross-validation scores and the logistic
        explainer.
    """
    Xm, y = as_model_input(X), pd.Series(np.asarray(y, dtype="int64"), index=X.index)
    num, cat = split_columns(Xm)
    models = candidate_models(num, cat, random_state=random_state)
    names = [force] if force else list(candidates or models)
    unknown = [n for n in names if n not in models]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; expected one of {', '.join(models)}")
    cv = stratified_folds(y, cv_folds, random_state)
    choice = stratified_sample(y, None if force else choice_sample, random_state)
    Xc, yc = (Xm, y) if len(choice) == len(y) else (Xm.iloc[choice], y.iloc[choice])
    cv_choice = cv if len(choice) == len(y) else stratified_folds(yc, cv_folds, random_state)
    rows = []
    for name in names:
        s = (
            cross_val_score(models[name], Xc, yc, cv=cv_choice, scoring="roc_auc")
            if not force
            else np.array([np.nan])
        )
        rows.append({"model": name, "cv_auc": float(np.mean(s)), "cv_auc_sd": float(np.std(s))})
    scores = pd.DataFrame(rows)
    best = force or scores.loc[scores["cv_auc"].idxmax(), "model"]
    scores = scores.assign(chosen=scores["model"] == best)
    splits = list(cv.split(Xm, y))[:calibration_folds] if calibration_folds else cv
    calibrated = CalibratedClassifierCV(clone(models[best]), method="sigmoid", cv=splits)
    calibrated.fit(Xm, y)
    linear = [n for n in names if n.startswith("logistic")] or ["logistic_c0.1"]
    expl_name = (
        best
        if best.startswith("logistic")
        else max(linear, key=lambda n: scores.set_index("model")["cv_auc"].get(n, -1))
    )
    explainer = clone(models[expl_name]).fit(Xm, y)
    pre = explainer.named_steps["pre"]
    return ChurnModel(
        name=best,
        calibrated=calibrated,
        explainer=explainer,
        cv_scores=scores,
        features=list(X.columns),
        numeric=num,
        z_mean=pre.transform(Xm).mean(axis=0),
        z_names=list(pre.get_feature_names_out()),
        z_source=_source_of(pre.get_feature_names_out(), num, cat),
        n_fit=len(y),
        n_choice=0 if force else len(yc),
        n_calibration=sum(len(test) for _, test in splits) if calibration_folds else 0,
    )


# ------------------------------------------------------------------ metrics
def score_metrics(y, p) -> dict:
    """ROC AUC, PR AUC (average precision), Brier score and top-decile lift (NaN when undefined).

    Parameters
    ----------
    y : array-like
        0/1 labels.
    p : array-like
        Scores or probabilities (NaN rows are left out).

    Returns
    -------
    dict
        ``auc``, ``pr_auc``, ``brier`` and ``lift_top_decile``.
    """
    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    ok = ~np.isnan(p)
    y, p = y[ok], p[ok]
    two = len(np.unique(y)) == 2
    return {
        "auc": float(roc_auc_score(y, p)) if two else math.nan,
        "pr_auc": float(average_precision_score(y, p)) if two else math.nan,
        "brier": float(brier_score_loss(y, p))
        if len(y) and p.min() >= 0 and p.max() <= 1
        else math.nan,
        "lift_top_decile": _lift_top(y, p),
    }


def _lift_top(y, p, share: float = 0.1) -> float:
    if len(y) == 0 or y.mean() == 0:
        return math.nan
    n = max(1, math.ceil(len(y) * share))
    top = np.argsort(-p, kind="stable")[:n]
    return float(y[top].mean() / y.mean())


def gains_table(y, score, *, n_bins: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift by decile of the score (decile 1 = highest risk).

    Parameters
    ----------
    y : array-like
        0/1 labels.
    score : array-like
        Risk score, higher is riskier.
    n_bins : int
        Bins (10: deciles).

    Returns
    -------
    DataFrame
        decile, customers, churners, churn_rate, cum_share_customers, cum_share_churners (gains),
        lift (decile churn rate / overall) and cum_lift.
    """
    y, s = np.asarray(y, dtype=int), np.asarray(score, dtype=float)
    order = np.argsort(-s, kind="stable")
    decile = np.empty(len(y), dtype=int)
    decile[order] = np.arange(len(y)) * n_bins // max(len(y), 1) + 1
    t = (
        pd.DataFrame({"decile": decile, "y": y})
        .groupby("decile")["y"]
        .agg(customers="size", churners="sum")
        .reset_index()
    )
    rate = y.mean() if len(y) else math.nan
    return t.assign(
        churn_rate=t["churners"] / t["customers"],
        cum_share_customers=t["customers"].cumsum() / len(y),
        cum_share_churners=t["churners"].cumsum() / max(t["churners"].sum(), 1),
        lift=t["churners"] / t["customers"] / rate,
        cum_lift=t["churners"].cumsum() / t["customers"].cumsum() / rate,
    )


def calibration_table(y, p, *, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn rate in ``n_bins`` quantile bins.

    Parameters
    ----------
    y : array-like
        0/1 labels.
    p : array-like
        Predicted probabilities.
    n_bins : int
        Quantile bins.

    Returns
    -------
    DataFrame
        ``predicted`` (mean probability) and ``observed`` (churn rate) per bin.
    """
    frac, mean = calibration_curve(
        np.asarray(y, int), np.asarray(p, float), n_bins=n_bins, strategy="quantile"
    )
    return pd.DataFrame({"predicted": mean, "observed": frac})
