"""Churn risk (客户流失风险): a leakage-free backtest, baselines, a risk list with reasons.

For a report period ending at ``end`` (exclusive) and a horizon ``h``:

- train: features as of ``end - 2h``, labels from ``[end - 2h, end - h)``;
- test: features as of ``end - h``, labels from ``[end - h, end)``;
- risk list: the chosen model refitted on the test window (the latest labelled
  one) scores every customer active at ``end`` for the next ``h`` days.

The model is picked among a regularised logistic regression and gradient
boosted trees by stratified cross-validation on the training window only, then
calibrated (sigmoid, :class:`~sklearn.calibration.CalibratedClassifierCV`).
Two baselines are scored on the same test window: the recency rule (days since
the last purchase) and a BG/NBD model (:class:`BetaGeoModel`, Fader, Hardie
and Lee 2005) fitted on the history before the test cutoff.

A second entry, :func:`table_study`, takes a ready customer table with a label
(see :func:`analysis.churn.features.clean_customer_table`) and replaces the time
split with a stratified split.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import gammaln
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import (
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from analysis.churn.features import churn_features, churn_labels, clean_customer_table
from analysis.classify.classes import abc_classes
from analysis.data.validation import DataError
from analysis.errors import InsufficientData
from analysis.viz.labels import label
from analysis.viz.style import _ax, pct_axis, styled

__all__ = [
    "BetaGeoModel",
    "ChurnModel",
    "ChurnResult",
    "backtest",
    "table_study",
    "risk_scores",
    "risk_list",
    "score_metrics",
    "gains_table",
    "calibration_table",
    "churn_by_class",
    "verdict",
    "feature_tables",
    "summary_record",
    "plot_calibration",
    "plot_gains",
    "SCORES",
    "FEATURE_TABLES",
    "RISK_COLUMNS",
    "abc_of",
    "table_view",
    "explain",
    "fit_churn_model",
    "candidate_models",
    "bgnbd_churn_probability",
    "metrics_table",
    "label_windows",
    "from_customer_table",
    "notes_table",
    "model_choice_table",
]

SCORES = ("model", "baseline_recency", "baseline_alive")
#: optional tables whose feature families are added when present
FEATURE_TABLES = ("customers", "receivables", "interactions")
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
METRICS = ("auc", "pr_auc", "brier", "lift_top_decile")
_INTERVAL_FEATURES = ("avg_interval_days", "recency_ratio", "interval_cv")
_PCT_FEATURES = {"return_rate", "margin_rate", "overdue_share", "sales_trend"}


def _one_thread(func):
    """Run with one BLAS and OpenMP thread: on a small shared machine the thread
    pool spins against other processes and a fit takes ten times longer."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return func(*args, **kwargs)

    return wrapper


# ------------------------------------------------------------------ BG/NBD
class BetaGeoModel:
    """BG/NBD purchase model: Poisson purchases at rate λ ~ Gamma(r, α) while alive,
    dropout after each purchase with probability p ~ Beta(a, b).

    Inputs follow the usual convention: ``x`` repeat purchases (purchase days
    minus one), ``t_x`` age at the last purchase, ``T`` age at the cutoff, all
    in the same time unit.
    """

    def fit(self, x, t_x, T) -> BetaGeoModel:
        """Maximum likelihood on log parameters (L-BFGS-B); returns self with ``params_``."""
        data = pd.DataFrame(
            {"x": np.asarray(x, float), "t_x": np.asarray(t_x, float), "T": np.asarray(T, float)}
        )
        if len(data) == 0 or (data["x"] < 0).any() or (data["t_x"] > data["T"] + 1e-9).any():
            raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T for at least one customer")
        grouped = data.groupby(["x", "t_x", "T"]).size().reset_index(name="w")
        x, tx, TT, w = (grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "w"))
        start = np.log([1.0, max(data["T"].mean(), 1e-3), 1.0, 1.0])
        res = minimize(
            _bgnbd_nll, start, args=(x, tx, TT, w), method="L-BFGS-B", bounds=[(-9.0, 9.0)] * 4
        )
        self.params_ = dict(zip(("r", "alpha", "a", "b"), np.exp(res.x)))
        self.converged_ = bool(res.success)
        return self

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(still alive at T | x, t_x, T)."""
        r, alpha, a, b = (self.params_[k] for k in ("r", "alpha", "a", "b"))
        x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
        log_ratio = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-12))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, 1.0 / (1.0 + np.exp(np.minimum(log_ratio, 700))), 1.0)

    def p_no_purchase(self, t, x, t_x, T) -> np.ndarray:
        """P(no purchase in (T, T + t]): dead, or alive with no Poisson event."""
        r, alpha = self.params_["r"], self.params_["alpha"]
        x, T = np.asarray(x, float), np.asarray(T, float)
        alive = self.p_alive(x, t_x, T)
        return (1 - alive) + alive * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))


def _bgnbd_nll(logp, x, tx, T, w):
    r, alpha, a, b = np.exp(logp)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + tx),
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
    """BG/NBD fitted on every customer's history before ``cutoff``; P(no purchase in the horizon) for ``ids``."""
    from analysis.engine.aggregate import customer_summary

    s = customer_summary(tx, as_of=cutoff, date_col=date_col, id_col=id_col, amount_col=amount_col)
    s = s[s["frequency"] > 0].set_index("customer_id")
    week = 7.0
    x, t_x, T = (
        s["frequency"] - 1,
        (s["tenure_days"] - s["recency_days"]) / week,
        s["tenure_days"] / week,
    )
    model = BetaGeoModel().fit(x, t_x, T)
    p = model.p_no_purchase(horizon_days / week, x, t_x, T)
    return pd.Series(p, index=s.index).reindex(ids)


# ------------------------------------------------------------------ models
def _signed_log1p(a):
    return np.sign(a) * np.log1p(np.abs(a))


def _split_columns(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    num = [
        c
        for c in X.columns
        if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
    ]
    return num, [c for c in X.columns if c not in num]


def _as_model_input(X: pd.DataFrame) -> pd.DataFrame:
    num, cat = _split_columns(X)
    return X.assign(
        **{c: X[c].astype(object).where(X[c].notna(), np.nan) for c in cat},
        **{c: X[c].astype("float64") for c in num},
    )


def candidate_models(num_cols, cat_cols, *, random_state: int) -> dict[str, Pipeline]:
    """The candidates: logistic regression at two L2 strengths and gradient-boosted trees."""
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
    """A fitted, calibrated churn classifier plus the logistic model that explains it."""

    name: str
    calibrated: CalibratedClassifierCV
    explainer: Pipeline
    cv_scores: pd.DataFrame
    features: list[str]
    numeric: list[str]
    z_mean: np.ndarray | None = None
    z_names: list[str] | None = None
    z_source: list[str] | None = None

    @_one_thread
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability of each row."""
        return self.calibrated.predict_proba(_as_model_input(X[self.features]))[:, 1]

    def contributions(self, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Logit contributions of the logistic explainer against the training mean.

        Returns (per original feature, summed over its one-hot and missing
        columns; per transformed column deviation from the training mean).
        """
        pre, clf = self.explainer.named_steps["pre"], self.explainer.named_steps["clf"]
        dev = pre.transform(_as_model_input(X[self.features])) - self.z_mean
        per_col = pd.DataFrame(dev * clf.coef_[0], index=X.index, columns=self.z_source)
        grouped = per_col.T.groupby(level=0, sort=False).sum().T
        return grouped, pd.DataFrame(dev, index=X.index, columns=self.z_names)


def _cv(y: pd.Series, folds: int, random_state: int) -> StratifiedKFold:
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 2:
        raise InsufficientData(
            f"too few customers in one class to fit a model ({int(y.sum())} churned, "
            f"{int(len(y) - y.sum())} stayed); need at least 2 of each"
        )
    return StratifiedKFold(
        n_splits=max(2, min(folds, minority)), shuffle=True, random_state=random_state
    )


def _source_of(names, num_cols, cat_cols) -> list[str]:
    out = []
    for n in names:
        part, rest = n.split("__", 1)
        if part == "num":
            out.append(rest.removeprefix("missingindicator_"))
        else:
            out.append(max((c for c in cat_cols if rest.startswith(f"{c}_")), key=len))
    return out


@_one_thread
def fit_churn_model(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    cv_folds: int = 5,
    random_state: int = 0,
    candidates: tuple[str, ...] | None = None,
    force: str | None = None,
) -> ChurnModel:
    """Pick a candidate by cross-validated ROC AUC on (X, y), calibrate it, fit the explainer.

    Parameters
    ----------
    X, y : training features and 0/1 labels (the training window only).
    cv_folds : folds for selection and for calibration (fewer when a class is small).
    random_state : seeds the folds and the trees.
    candidates : names from :func:`candidate_models` to consider (default all).
    force : skip the selection and use this candidate (used to refit a chosen model).
    """
    Xm, y = _as_model_input(X), pd.Series(np.asarray(y, dtype="int64"), index=X.index)
    num, cat = _split_columns(Xm)
    models = candidate_models(num, cat, random_state=random_state)
    names = [force] if force else list(candidates or models)
    unknown = [n for n in names if n not in models]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; expected one of {', '.join(models)}")
    cv = _cv(y, cv_folds, random_state)
    rows = []
    for name in names:
        s = (
            cross_val_score(models[name], Xm, y, cv=cv, scoring="roc_auc")
            if not force
            else np.array([np.nan])
        )
        rows.append({"model": name, "cv_auc": float(np.mean(s)), "cv_auc_sd": float(np.std(s))})
    scores = pd.DataFrame(rows)
    best = force or scores.loc[scores["cv_auc"].idxmax(), "model"]
    scores = scores.assign(chosen=scores["model"] == best)
    calibrated = CalibratedClassifierCV(clone(models[best]), method="sigmoid", cv=cv).fit(Xm, y)
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
    )


# ------------------------------------------------------------------ metrics
def score_metrics(y, p) -> dict:
    """ROC AUC, PR AUC (average precision), Brier score and top-decile lift (NaN when undefined)."""
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

    Columns: decile, customers, churners, churn_rate, cum_share_customers,
    cum_share_churners (gains), lift (decile churn rate / overall), cum_lift.
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
    """Mean predicted vs observed churn rate in ``n_bins`` quantile bins."""
    frac, mean = calibration_curve(
        np.asarray(y, int), np.asarray(p, float), n_bins=n_bins, strategy="quantile"
    )
    return pd.DataFrame({"predicted": mean, "observed": frac})


# ------------------------------------------------------------------ backtest
@dataclass
class ChurnResult:
    """Everything a churn report shows: test predictions, metrics, the fitted model, settings."""

    mode: str
    predictions: pd.DataFrame
    metrics: pd.DataFrame
    model: ChurnModel
    n_train: int
    n_test: int
    horizon_days: int | None = None
    cutoffs: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def churn_rate(self) -> float:
        """Observed churn rate in the test window (or test split)."""
        return float(self.predictions["churned"].mean())


def feature_tables(ds) -> dict:
    """The optional tables of a :class:`~analysis.data.io.Dataset` that churn features use."""
    return {name: ds.get(name) for name in FEATURE_TABLES if ds.get(name) is not None}


def _window(tx, cutoff, *, horizon_days, active_days, trend_days, tables):
    X = churn_features(tx, cutoff, active_days=active_days, trend_days=trend_days, **tables)
    y = churn_labels(tx, cutoff, horizon_days=horizon_days, active_days=active_days)
    X = X.set_index("customer_id")
    return X, y.set_index("customer_id")["churned"].reindex(X.index)


@_one_thread
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
    """Fit on the window before the last, evaluate on the last labelled window (see the module note).

    ``end`` is exclusive (the first day after the report period).  Baselines on
    the test window: ``baseline_recency`` (logistic on log recency, fitted on
    the training window; its ranking is the plain recency rule) and
    ``baseline_alive`` (BG/NBD P(no purchase within the horizon)).
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
        horizon_days=horizon_days,
        cutoffs={"train": end - 2 * h, "test": end - h, "score": end},
        settings={
            "tx": tx,
            "tables": tables,
            "active_days": active_days,
            "trend_days": trend_days,
            "train_rate": float(y_tr.mean()),
            "cv_folds": cv_folds,
            "random_state": random_state,
            "X_test": X_te,
        },
    )


@_one_thread
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

    ``value`` (optional, aligned with X) is each customer's sales or fee used
    for expected lost sales in the risk list.  There is no time axis, so no
    recency or BG/NBD baseline: those rows are NaN.
    """
    y = pd.Series(np.asarray(y, dtype="int64"), index=X.index)
    _cv(y, 2, random_state)
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
    return ChurnResult(
        mode="table",
        predictions=pred,
        metrics=metrics,
        model=model,
        n_train=len(X_tr),
        n_test=len(X_te),
        notes=list(notes or []),
        settings={
            "X": X,
            "y": y,
            "value": value,
            "cv_folds": cv_folds,
            "random_state": random_state,
        },
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
    """Clean a raw customer export (:func:`~analysis.churn.features.clean_customer_table`) and run
    :func:`table_study` on it; ``value_col`` (optional) feeds expected lost sales."""
    X, y, notes = clean_customer_table(raw, label_col=label_col, id_col=id_col)
    value = None
    if value_col:
        if value_col not in X.columns or not pd.api.types.is_numeric_dtype(X[value_col]):
            raise DataError(
                f"value column {value_col!r} is not a numeric column of the table "
                f"(numeric columns: {', '.join(_split_columns(X)[0])})",
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


def label_windows(result: ChurnResult, lang: str = "zh") -> pd.DataFrame:
    """The windows of the study: cutoff, label window, customers and observed churn rate."""
    name = lambda key: label(f"churn_{key}_window", lang)  # noqa: E731
    if result.mode == "table":
        return pd.DataFrame(
            [
                {"window": name("train"), "customers": result.n_train, "churn_rate": np.nan},
                {
                    "window": name("test"),
                    "customers": result.n_test,
                    "churn_rate": result.churn_rate,
                },
            ]
        )
    c, h, day = result.cutoffs, pd.Timedelta(days=result.horizon_days), pd.Timedelta(days=1)
    rows = [
        {
            "window": name(key),
            "cutoff": f"{cut:%Y-%m-%d}",
            "label_window": f"{cut:%Y-%m-%d} – {cut + h - day:%Y-%m-%d}",
            "customers": n,
            "churn_rate": rate,
        }
        for key, cut, n, rate in (
            ("train", c["train"], result.n_train, result.settings.get("train_rate")),
            ("test", c["test"], result.n_test, result.churn_rate),
            ("score_now", c["score"], np.nan, np.nan),
        )
    ]
    return pd.DataFrame(rows)


def metrics_table(result: ChurnResult, lang: str = "zh") -> pd.DataFrame:
    """Test metrics of the model and the baselines, one row per score (named in ``lang``)."""
    m = result.metrics.dropna(how="all")
    return m.rename(index=lambda k: label(f"churn_{k}", lang)).rename_axis("score").reset_index()


def notes_table(notes: list[dict], lang: str = "zh") -> pd.DataFrame:
    """The cleaning notes of a customer table, actions in words."""
    rows = [
        {
            "column": n["column"],
            "action": label(f"churn_action_{n['action']}", lang),
            "count": n["count"],
        }
        for n in notes
    ]
    return pd.DataFrame(rows, columns=["column", "action", "count"])


# ------------------------------------------------------------------ risk list
@_one_thread
def risk_scores(
    result: ChurnResult,
    *,
    lang: str = "zh",
    n_reasons: int = 3,
    abc_cutoffs: tuple[float, float] = (0.75, 0.95),
) -> pd.DataFrame:
    """Score the customers to act on, with expected lost sales and reasons in words.

    Transactions: the chosen model is refitted on the latest labelled window
    (features at ``end - h``, labels up to ``end``) and scores every customer
    active at ``end``.  Table: out-of-fold probabilities (each customer scored
    by models that never saw it) for the customers not yet churned.

    Returns
    -------
    DataFrame sorted by churn probability: customer_id, churn_probability,
    sales_12m (table: customer_value), expected_lost_sales, customer_class (ABC
    by that value with ``abc_cutoffs``; "–" without values), recency_days
    (transactions), reasons (``; ``-joined text) and reason_1..n.
    """
    st = result.settings
    if result.mode == "transactions":
        tx, end = st["tx"], result.cutoffs["score"]
        X_fit, y_fit = st["X_test"], result.predictions["churned"]
        model = fit_churn_model(
            X_fit,
            y_fit,
            cv_folds=st["cv_folds"],
            random_state=st["random_state"],
            force=result.model.name,
        )
        X_now = churn_features(
            tx, end, active_days=st["active_days"], trend_days=st["trend_days"], **st["tables"]
        ).set_index("customer_id")
        prob = model.predict_proba(X_now)
        value = X_now["sales_12m"]
        extra = {"recency_days": X_now["recency_days"]}
    else:
        X, y = st["X"], st["y"]
        model = result.model
        cal = clone(model.calibrated)
        oof = cross_val_predict(
            cal,
            _as_model_input(X),
            y,
            cv=_cv(y, st["cv_folds"], st["random_state"]),
            method="predict_proba",
        )[:, 1]
        keep = (y == 0).to_numpy()
        X_now, prob = X[keep], oof[keep]
        value = (
            st["value"][keep] if st["value"] is not None else pd.Series(np.nan, index=X_now.index)
        )
        extra = {}
    reasons = explain(model, X_now, lang=lang, n_reasons=n_reasons)
    value = value.astype("float64")
    value_name = "sales_12m" if result.mode == "transactions" else "customer_value"
    out = pd.DataFrame(
        {
            "churn_probability": prob,
            value_name: value,
            "expected_lost_sales": prob * value.clip(lower=0),
            "customer_class": abc_of(value, abc_cutoffs),
            **extra,
        },
        index=X_now.index,
    ).join(reasons)
    return (
        out.rename_axis("customer_id")
        .reset_index()
        .sort_values(["churn_probability", "customer_id"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def _feature_label(name: str, lang: str) -> str:
    return _label_or(f"churn_feat_{name}", str(name), lang)


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
    """The top-N customers by churn probability, with the customer's name when known."""
    out = scored.head(top_n)
    if customers is not None and "name" in customers.columns:
        out = out.merge(customers[["customer_id", "name"]], on="customer_id", how="left")
        out = out[
            ["customer_id", "name", *[c for c in out.columns if c not in ("customer_id", "name")]]
        ]
    return out.reset_index(drop=True)


def abc_of(value: pd.Series, cutoffs: tuple[float, float] = (0.75, 0.95)) -> pd.Series:
    """ABC class of each customer by ``value`` (index = customer id), the rule of
    :func:`analysis.classify.classes.abc_classes`; "–" when no value is known."""
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
    """
    out = scored.groupby("customer_class").agg(
        customers=("customer_id", "size"),
        mean_churn_probability=("churn_probability", "mean"),
        expected_lost_sales=("expected_lost_sales", "sum"),
    )
    if result.mode == "transactions":
        then = abc_of(result.settings["X_test"]["sales_12m"], abc_cutoffs)
        out = out.join(
            result.predictions["churned"].groupby(then).mean().rename("observed_churn_rate")
        )
    return out.reset_index()


def table_view(
    df: pd.DataFrame, lang: str = "zh", *, money=(), pct=(), ints=(), decimals=(), precise=()
):
    """A formatted table with headers in ``lang`` (labels ``churn_col_<column>`` where defined).

    ``precise`` columns show three decimals (AUCs and Brier scores differ in the third).
    Every value and header is HTML-escaped (:func:`analysis.viz.style.styled`).
    """
    names = {c: _column_label(c, lang) for c in df.columns}
    pick = lambda cols: [names[c] for c in cols if c in names]  # noqa: E731
    sty = styled(
        df.rename(columns=names),
        money=pick(money),
        pct=pick(pct),
        ints=pick(ints),
        decimals=pick(decimals),
    )
    cols = pick(precise)
    return (
        sty.format(lambda v: "–" if pd.isna(v) else f"{v:.3f}", subset=cols, escape="html")
        if cols
        else sty
    )


def model_choice_table(result: ChurnResult, lang: str = "zh") -> pd.DataFrame:
    """The candidates' cross-validated AUC on the training window, named in ``lang``, chosen one ticked."""
    cv = result.model.cv_scores
    return cv.assign(
        model=cv["model"].map(lambda m: _label_or(f"churn_cand_{m}", m, lang)),
        chosen=np.where(cv["chosen"], "✓", ""),
    )


def _label_or(key: str, default: str, lang: str) -> str:
    try:
        return label(key, lang)
    except KeyError:
        return default


def _column_label(col, lang: str) -> str:
    return _label_or(f"churn_col_{col}", str(col), lang)


# ------------------------------------------------------------------ report text and record
def verdict(metrics: pd.DataFrame, lang: str = "zh", *, tol: float = 0.005) -> str:
    """One sentence per baseline: does the model's test AUC beat, match or fall short of it?"""
    m = metrics.loc["model", "auc"]
    parts = []
    for base in ("baseline_recency", "baseline_alive"):
        b = metrics.loc[base, "auc"] if base in metrics.index else math.nan
        if pd.isna(b) or pd.isna(m):
            continue
        key = (
            "churn_verdict_beats"
            if m > b + tol
            else ("churn_verdict_matches" if m >= b - tol else "churn_verdict_loses")
        )
        parts.append(
            label(
                key,
                lang,
                model=f"{m:.3f}",
                baseline=label(f"churn_short_{base}", lang),
                base=f"{b:.3f}",
            )
        )
    if not parts:
        return label("churn_verdict_no_baseline", lang, model="–" if pd.isna(m) else f"{m:.3f}")
    return " ".join(parts)


def _clean(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), 4)


def summary_record(result: ChurnResult) -> dict:
    """The summary.json entries of the churn notebook."""
    met = result.metrics
    rec = {k: _clean(met.loc["model", k]) for k in METRICS}
    for base in ("baseline_recency", "baseline_alive"):
        rec[base] = {k: _clean(met.loc[base, k]) for k in METRICS}
    rec.update(
        churn_rate=_clean(result.churn_rate),
        n_train=int(result.n_train),
        n_test=int(result.n_test),
        horizon_days=result.horizon_days,
        model=result.model.name,
        cutoff=str(result.cutoffs["score"].date()) if "score" in result.cutoffs else None,
    )
    return rec


# ------------------------------------------------------------------ charts
def _score_names(pred: pd.DataFrame) -> list[str]:
    return [k for k in SCORES if k in pred.columns and pred[k].notna().any()]


def plot_calibration(pred: pd.DataFrame, *, lang: str = "zh", n_bins: int = 10, ax=None):
    """Reliability diagram: observed churn rate against mean predicted probability."""
    ax = _ax(ax)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    for k in _score_names(pred):
        t = calibration_table(pred["churned"], pred[k], n_bins=n_bins)
        ax.plot(t["predicted"], t["observed"], marker="o", label=label(f"churn_{k}", lang))
    ax.set(
        xlabel=label("churn_predicted_probability", lang),
        ylabel=label("churn_observed_rate", lang),
        title=label("churn_calibration_title", lang),
    )
    pct_axis(ax, "x"), pct_axis(ax, "y")
    ax.legend()
    return ax


def plot_gains(pred: pd.DataFrame, *, lang: str = "zh", ax=None):
    """Cumulative gains: share of churners found against share of customers contacted."""
    ax = _ax(ax)
    ax.plot(
        [0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label=label("churn_random", lang)
    )
    for k in _score_names(pred):
        g = gains_table(pred["churned"], pred[k])
        ax.plot(
            [0, *g["cum_share_customers"]],
            [0, *g["cum_share_churners"]],
            marker="o",
            label=label(f"churn_{k}", lang),
        )
    ax.set(
        xlabel=label("churn_share_contacted", lang),
        ylabel=label("churn_share_found", lang),
        title=label("churn_gains_title", lang),
    )
    pct_axis(ax, "x"), pct_axis(ax, "y")
    ax.legend()
    return ax
