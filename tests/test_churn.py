"""Churn risk: labels at the boundaries, leakage-free features, BG/NBD, models, metrics, notebook."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from analysis import churn
from analysis.churn.features import (
    active_customers,
    churn_features,
    churn_labels,
    clean_customer_table,
    parse_label,
)
from analysis.churn.models import as_model_input, split_columns
from analysis.config import PROJECT_ROOT
from analysis.data.validation import DataError
from analysis.report.records import churn_summary
from analysis.viz.churn import verdict

CUT = pd.Timestamp("2025-03-01")
D = pd.Timestamp


# ------------------------------------------------------------------ hand-built data
def _tx(rows, cost=True):
    cols = ["customer_id", "date", "amount", "cost"] if cost else ["customer_id", "date", "amount"]
    df = pd.DataFrame(rows, columns=cols)
    return df.assign(date=pd.to_datetime(df["date"]))


@pytest.fixture
def small():
    """Customer A: three purchases and a return; B: a single purchase; C: lapsed (inactive)."""
    tx = _tx(
        [
            ("A", "2025-01-01", 100.0, 60.0),
            ("A", "2025-01-11", 200.0, 120.0),
            ("A", "2025-01-31", 300.0, 200.0),
            ("A", "2025-02-05", -50.0, -30.0),
            ("B", "2025-02-20", 80.0, 50.0),
            ("C", "2023-06-01", 90.0, 40.0),
        ]
    )
    ar = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B"],
            "invoice_id": ["i1", "i2", "i3", "i4"],
            "invoice_date": pd.to_datetime(
                ["2025-01-01", "2025-01-11", "2025-01-31", "2025-02-20"]
            ),
            "amount": [100.0, 200.0, 300.0, 80.0],
            "due_date": pd.to_datetime(["2025-01-31", "2025-02-10", "2025-03-02", "2025-03-20"]),
            "paid_date": pd.to_datetime(["2025-01-21", "2025-03-05", None, "2025-02-25"]),
            "paid_amount": [100.0, 200.0, np.nan, 80.0],
        }
    )
    inter = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A"],
            "kind": ["complaint", "praise", "complaint", "complaint"],
            "date": pd.to_datetime(["2025-02-01", "2024-06-01", "2025-03-01", "2023-12-01"]),
        }
    )
    cust = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "channel": ["retail", "wholesale", "retail"],
            "region": ["east", "west", "east"],
            "since": pd.to_datetime(["2024-12-01", "2025-02-01", "2023-01-01"]),
        }
    )
    return {"tx": tx, "receivables": ar, "interactions": inter, "customers": cust}


def _features(d, cutoff=CUT):
    return churn_features(
        d["tx"],
        cutoff,
        customers=d["customers"],
        receivables=d["receivables"],
        interactions=d["interactions"],
        trend_days=30,
    ).set_index("customer_id")


# ------------------------------------------------------------------ labels
def test_labels_at_the_boundaries():
    # window for cutoff 2025-03-01 and h = 30: 2025-03-01 <= day < 2025-03-31
    tx = _tx(
        [
            ("at_cutoff", "2025-02-01", 10.0),
            ("at_cutoff", "2025-03-01", 10.0),  # on the cutoff day: stays
            ("at_end", "2025-02-01", 10.0),
            ("at_end", "2025-03-31", 10.0),  # on cutoff + h: churned
            ("last_day", "2025-02-01", 10.0),
            ("last_day", "2025-03-30", 10.0),  # cutoff + h - 1: stays
            ("return_only", "2025-02-01", 10.0),
            ("return_only", "2025-03-10", -5.0),  # a return is no purchase
            ("lapsed", "2023-01-01", 10.0),
            ("lapsed", "2025-03-05", 10.0),  # not active at the cutoff
            ("new", "2025-03-01", 10.0),  # first purchase on the cutoff day: not yet a customer
        ],
        cost=False,
    )
    lab = churn_labels(tx, CUT, horizon_days=30, active_days=365).set_index("customer_id")[
        "churned"
    ]
    assert lab.to_dict() == {"at_cutoff": 0, "at_end": 1, "last_day": 0, "return_only": 1}


def test_purchase_on_the_cutoff_is_not_a_feature():
    tx = _tx([("a", "2025-02-01", 10.0), ("a", "2025-03-01", 999.0)], cost=False)
    f = churn_features(tx, CUT).set_index("customer_id")
    assert f.loc["a", "recency_days"] == 28  # 2025-03-01 - 2025-02-01
    assert f.loc["a", "monetary"] == 10.0


def test_active_days_none_counts_any_purchase():
    tx = _tx([("old", "2020-01-01", 5.0), ("new", "2025-02-01", 5.0)], cost=False)
    assert list(active_customers(tx, CUT, active_days=None)) == ["new", "old"]
    assert list(active_customers(tx, CUT, active_days=365)) == ["new"]


def test_bad_horizon_and_missing_column():
    tx = _tx([("a", "2025-02-01", 10.0)], cost=False)
    with pytest.raises(ValueError, match="horizon_days must be positive"):
        churn_labels(tx, CUT, horizon_days=0)
    with pytest.raises(DataError, match="Required column amount missing"):
        churn_features(tx.drop(columns="amount"), CUT)


# ------------------------------------------------------------------ features
def test_transaction_features_by_hand(small):
    f = _features(small)
    assert list(f.index) == ["A", "B"]  # C last bought 2023-06-01: not active
    a = f.loc["A"]
    assert a["recency_days"] == 29  # 2025-03-01 - 2025-01-31
    assert a["frequency"] == 3 and a["tenure_days"] == 59  # 2025-03-01 - 2025-01-01
    assert a["avg_interval_days"] == 15  # 30 days span / 2 gaps
    assert a["recency_ratio"] == pytest.approx(29 / 15)
    assert a["interval_cv"] == pytest.approx(1 / 3)  # gaps 10 and 20: sd 5 / mean 15
    assert a["monetary"] == 550 and a["return_rate"] == pytest.approx(50 / 600)
    assert a["margin_rate"] == pytest.approx(200 / 550)  # (550 - 350 cost) / 550
    # last 30 days [01-30, 03-01): 300 - 50; previous 30 days: 100 + 200
    assert (a["sales_last"], a["sales_prev"], a["days_last"], a["days_prev"]) == (250, 300, 1, 2)
    assert a["sales_trend"] == pytest.approx(-50 / 550)
    assert a["sales_12m"] == 550


def test_financial_contact_and_customer_features_by_hand(small):
    a = _features(small).loc["A"]
    assert a["collection_days"] == 20  # only i1 was paid before the cutoff, after 20 days
    assert a["arrears"] == 500  # i2 (paid 03-05, after the cutoff) + i3 (unpaid)
    assert a["overdue_amount"] == 200  # i2 was due 02-10; i3 is due 03-02
    assert a["overdue_share"] == pytest.approx(200 / 600)
    # the complaint on the cutoff day and the one over a year old do not count
    assert (a["complaints_12m"], a["praises_12m"]) == (1, 1)
    assert a["complaints_recent"] == 1  # 2025-02-01 is within the last 30 days
    assert a["channel"] == "retail" and a["customer_age_days"] == 90  # 2025-03-01 - 2024-12-01


def test_customer_with_one_purchase(small):
    b = _features(small).loc["B"]
    assert b["frequency"] == 1 and b["recency_days"] == 9
    assert (
        np.isnan(b["avg_interval_days"])
        and np.isnan(b["recency_ratio"])
        and np.isnan(b["interval_cv"])
    )
    assert b["collection_days"] == 5 and b["arrears"] == 0


def test_future_rows_do_not_change_features(small):
    before = _features(small)
    fut = {k: v.copy() for k, v in small.items()}
    fut["tx"] = pd.concat(
        [
            fut["tx"],
            _tx(
                [
                    ("A", "2025-03-01", 1e6, 1.0),
                    ("B", "2025-04-01", 5.0, 1.0),
                    ("D", "2025-03-02", 7.0, 1.0),
                ]
            ),
        ],
        ignore_index=True,
    )
    fut["receivables"] = pd.concat(
        [
            fut["receivables"],
            pd.DataFrame(
                {
                    "customer_id": ["A"],
                    "invoice_id": ["i9"],
                    "invoice_date": [D("2025-03-01")],
                    "amount": [1e6],
                    "due_date": [D("2025-03-02")],
                    "paid_date": [pd.NaT],
                    "paid_amount": [np.nan],
                }
            ),
        ],
        ignore_index=True,
    )
    fut["receivables"].loc[2, "paid_date"] = D(
        "2025-03-15"
    )  # i3 paid after the cutoff: still open then
    fut["interactions"] = pd.concat(
        [
            fut["interactions"],
            pd.DataFrame({"customer_id": ["B"], "kind": ["complaint"], "date": [D("2025-03-10")]}),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(_features(fut), before)


def test_features_do_not_mutate_inputs(small):
    copies = {k: v.copy() for k, v in small.items()}
    _features(small)
    for k in small:
        pd.testing.assert_frame_equal(small[k], copies[k])


# ------------------------------------------------------------------ BG/NBD
def _simulate_bgnbd(n, r, alpha, a, b, T, seed):
    """Purchases at rate lambda ~ Gamma(r, alpha) until dropout (prob p ~ Beta(a, b) after each)."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        t = t + np.where(alive, rng.exponential(1 / np.maximum(lam, 1e-12)), 0.0)
        buy = alive & (t < T)
        x[buy] += 1
        t_x[buy] = t[buy]
        alive = buy & (rng.random(n) >= p)
    return x, t_x, np.full(n, float(T))


def test_bgnbd_recovers_known_parameters():
    true = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}  # near the published CDNOW fit
    x, t_x, T = _simulate_bgnbd(4000, *true.values(), T=52, seed=1)
    fit = churn.BetaGeoModel().fit(x, t_x, T).params_
    for k, v in true.items():
        assert fit[k] == pytest.approx(v, rel=0.25), k


def test_bgnbd_probabilities_by_hand():
    m = churn.BetaGeoModel()
    m.params_ = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}
    # x=1, t_x=1, T=2: P(alive) = 1 / (1 + a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)) = 1 / (1 + 2.25)
    assert m.p_alive([1, 0], [1, 0], [2, 2]) == pytest.approx([1 / 3.25, 1.0])
    # P(no purchase in 1) = (1 - 1/3.25) + 1/3.25 * (3/4)^2
    assert m.p_no_purchase(1.0, [1], [1], [2])[0] == pytest.approx(1 - 1 / 3.25 + 0.5625 / 3.25)


def test_bgnbd_rejects_impossible_input():
    with pytest.raises(ValueError, match="t_x <= T"):
        churn.BetaGeoModel().fit([1], [5], [2])


# ------------------------------------------------------------------ metrics
def test_score_metrics_by_hand():
    y, p = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    m = churn.score_metrics(y, p)
    assert m["auc"] == pytest.approx(0.75)  # 3 of the 4 (churner, stayer) pairs ordered right
    assert m["brier"] == pytest.approx((0.01 + 0.64 + 0.09 + 0.01) / 4)
    assert m["lift_top_decile"] == pytest.approx(2.0)  # top 1 of 4 is a churner; base rate 0.5
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)  # precision at each churner: 1/1, 2/3


def test_gains_table_by_hand():
    y = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    g = churn.gains_table(y, np.arange(10)[::-1], n_bins=5)
    assert list(g["churners"]) == [2, 1, 0, 0, 0]
    assert g["cum_share_churners"].iloc[0] == pytest.approx(2 / 3)
    assert g["lift"].iloc[0] == pytest.approx(1.0 / 0.3)  # 2/2 churned against 3/10 overall


def test_single_class_metrics_are_nan():
    m = churn.score_metrics([0, 0, 0], [0.1, 0.2, 0.3])
    assert np.isnan(m["auc"]) and np.isnan(m["lift_top_decile"])


# ------------------------------------------------------------------ models
def _mixed_table(n=240, seed=3):
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    contract = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.5, 0.3, 0.2])
    fee = rng.normal(60, 20, n).round(2)
    logit = 1.0 - 0.06 * tenure + np.where(contract == "monthly", 1.2, -0.8) + 0.01 * (fee - 60)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    total = (tenure * fee).round(2).astype(str)
    total[:5] = " "  # blanks in a number column, as in CRM exports
    return pd.DataFrame(
        {
            "id": [f"c{i:03d}" for i in range(n)],
            "tenure": tenure.astype(str),
            "contract": contract,
            "fee": [f"{v:,.2f}" for v in fee],
            "total": total,
            "country": "CN",
            "note": [f"free text {i}" for i in range(n)],
            "churn": np.where(y == 1, "Yes", "No"),
        }
    )


def test_clean_customer_table_notes_and_types():
    X, y, notes = clean_customer_table(
        _mixed_table(), label_col="churn", id_col="id", max_levels=50
    )
    assert list(X.columns) == ["tenure", "contract", "fee", "total"]
    assert (
        X["total"].isna().sum() == 5
        and X["fee"].dtype == "float64"
        and X["contract"].dtype == object
    )
    acts = {(n["column"], n["action"]): n["count"] for n in notes}
    assert acts[("total", "blank_to_missing")] == 5 and ("fee", "to_number") in acts
    assert (
        acts[("country", "dropped_constant")] == 1 and ("note", "dropped_high_cardinality") in acts
    )
    assert X.index.name == "customer_id" and y.index.equals(X.index) and set(y) == {0, 1}


def test_labels_parse_and_reject():
    assert parse_label(pd.Series(["Yes", "no", " 1", "0.0", "是", "否"])).tolist() == [
        1,
        0,
        1,
        0,
        1,
        0,
    ]
    with pytest.raises(DataError, match="not yes/no words: 'maybe'"):
        parse_label(pd.Series(["yes", "maybe"]), column="Churn")
    with pytest.raises(DataError, match="Required column Churn missing"):
        clean_customer_table(pd.DataFrame({"a": [1]}), label_col="Churn")


def test_model_probabilities_reasons_and_reproducible():
    X, y, _ = clean_customer_table(_mixed_table(), label_col="churn", id_col="id")
    one = ("logistic_c0.1",)
    runs = [churn.table_study(X, y, random_state=5, cv_folds=2, candidates=one) for _ in range(2)]
    p = runs[0].predictions["model"]
    assert ((p >= 0) & (p <= 1)).all() and runs[0].metrics.loc["model", "auc"] > 0.7
    pd.testing.assert_frame_equal(runs[0].predictions, runs[1].predictions)
    assert runs[0].predictions["churned"].mean() == pytest.approx(y.mean(), abs=0.03)  # stratified
    other = churn.table_study(X, y, random_state=6, cv_folds=2, candidates=one).predictions
    assert not other.index.equals(runs[0].predictions.index)
    reasons = churn.explain(runs[0].model, X.head(20), lang="en")
    assert reasons["reason_1"].str.len().gt(0).any()


def test_boosted_trees_reproducible_with_nan_and_categories():
    X, y, _ = clean_customer_table(_mixed_table(), label_col="churn", id_col="id")
    Xm = as_model_input(X)
    num, cat = split_columns(Xm)
    assert cat == ["contract"] and Xm["total"].isna().any()
    with threadpool_limits(
        limits=1
    ):  # as in analysis.churn.models: OpenMP threads crawl on a busy machine
        a, b = (
            churn.candidate_models(num, cat, random_state=1)["gradient_boosting"].fit(Xm, y)
            for _ in range(2)
        )
    np.testing.assert_array_equal(a.predict_proba(Xm), b.predict_proba(Xm))
    with pytest.raises(ValueError, match="expected one of logistic_c0.1"):
        churn.fit_churn_model(X, y, random_state=1, force="forest")


def test_forced_trees_still_explained_by_the_logistic_model():
    X, y, _ = clean_customer_table(_mixed_table(), label_col="churn", id_col="id")
    m = churn.fit_churn_model(X, y, random_state=1, cv_folds=2, force="gradient_boosting")
    assert (
        m.name == "gradient_boosting"
        and m.explainer.named_steps["clf"].__class__.__name__ == "LogisticRegression"
    )
    assert churn.explain(m, X.head(5), lang="zh")["reasons"].str.len().gt(0).all()


def test_customer_table_entry_value_and_risk_list(monkeypatch):
    raw = _mixed_table()
    with pytest.raises(DataError, match="value column 'contract' is not a numeric column"):
        churn.from_customer_table(raw, label_col="churn", id_col="id", value_col="contract")
    res = churn.from_customer_table(
        raw, label_col="churn", id_col="id", value_col="fee", cv_folds=2, random_state=0
    )
    assert res.mode == "table" and [n["action"] for n in res.notes].count("to_number") == 3
    _no_fitting(monkeypatch)
    scored = churn.risk_scores(res, lang="en")
    stayed = raw.loc[raw["churn"] == "No", "id"]
    assert sorted(scored["customer_id"]) == sorted(stayed)  # only customers not yet lost are listed
    fee = raw.set_index("id")["fee"].str.replace(",", "").astype(float)
    row = scored.iloc[0]
    assert row["expected_lost_sales"] == pytest.approx(
        row["churn_probability"] * fee[row["customer_id"]]
    )


def _synthetic_tx(n=90, seed=11):
    """Customers buy at their own rate; a third stop buying at a random date."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-01", "2025-12-31")
    rows = []
    for i in range(n):
        rate, size = rng.uniform(0.02, 0.1), rng.lognormal(6, 1)
        stop = len(days) if rng.random() < 0.65 else rng.integers(200, len(days))
        for d in np.flatnonzero(rng.random(stop) < rate):
            rows.append((f"S{i:03d}", days[d], round(size * rng.uniform(0.5, 1.5), 2)))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def _no_fitting(monkeypatch):
    """Make any classifier fit fail: scoring must use the models the study fitted."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    def refuse(*args, **kwargs):
        raise AssertionError("a model was fitted while scoring")

    for cls in (CalibratedClassifierCV, HistGradientBoostingClassifier, LogisticRegression):
        monkeypatch.setattr(cls, "fit", refuse)


def test_backtest_and_risk_list_on_transactions(monkeypatch):
    tx = _synthetic_tx()
    bt = churn.backtest(tx, "2026-01-01", random_state=0, cv_folds=2, candidates=("logistic_c0.1",))
    now = bt.scoring  # typed: what the risk list needs, computed by the backtest
    assert isinstance(now, churn.ScoredCustomers) and not hasattr(bt, "settings")
    assert now.value_name == "sales_12m" and now.features.index.equals(now.probability.index)
    assert (
        now.model is not bt.model and now.model.name == bt.model.name
    )  # refitted on the test window
    _no_fitting(monkeypatch)
    assert bt.cutoffs["train"] == D("2025-07-05") and bt.cutoffs["test"] == D("2025-10-03")
    pred = bt.predictions
    for k in churn.SCORES:
        assert pred[k].between(0, 1).all(), k
    rec = churn_summary(bt)
    assert set(rec) >= {
        "auc",
        "pr_auc",
        "brier",
        "lift_top_decile",
        "baseline_recency",
        "baseline_alive",
        "churn_rate",
        "n_train",
        "n_test",
        "horizon_days",
        "cutoff",
    }
    assert rec["cutoff"] == "2026-01-01" and rec["n_test"] == len(pred)
    scored = churn.risk_scores(bt, lang="zh")
    assert scored["churn_probability"].is_monotonic_decreasing
    assert (scored["expected_lost_sales"] <= scored["sales_12m"].clip(lower=0) + 1e-9).all()
    assert scored["customer_class"].isin(["A", "B", "C"]).all()
    top = churn.risk_list(scored, top_n=5)
    assert len(top) == 5 and top["reasons"].str.len().gt(0).all()
    # the page's record adds the risk list: its rows and its expected lost sales (summed, to the fen)
    page = churn_summary(bt, top)
    assert list(page)[-3:] == ["mode", "risk_list_rows", "expected_lost_sales_top_n"]
    assert page["risk_list_rows"] == 5 and page["mode"] == bt.mode
    assert page["expected_lost_sales_top_n"] == round(float(top["expected_lost_sales"].sum()), 2)
    by_class = churn.churn_by_class(scored, bt)
    assert set(by_class["customer_class"]) <= {"A", "B", "C"} and by_class[
        "customers"
    ].sum() == len(scored)


def test_verdict_is_computed_from_the_metrics():
    m = pd.DataFrame({"auc": [0.70, 0.75, 0.60]}, index=list(churn.SCORES))
    en = verdict(m, "en")
    assert "falls short of the recency rule (0.750)" in en and "beats the BG/NBD" in en
    assert "高于" in verdict(m.assign(auc=[0.9, 0.7, 0.6]), "zh")


# ------------------------------------------------------------------ notebook
NB = "04_churn_risk"
CDNOW = PROJECT_ROOT / "data" / "real" / "cdnow"
TELCO = PROJECT_ROOT / "data" / "real" / "telco" / "telco_customer_churn.csv"


def _need(path):
    if not path.exists():
        pytest.skip(f"{path} is not bundled")


@pytest.mark.notebook
def test_notebook_on_tiny_transactions(run_notebook, tiny_tx_dir):
    s = run_notebook(NB, tiny_tx_dir, lang="en", cv_folds=3)
    assert s["horizon_days"] == 90 and s["n_test"] > 0 and 0 <= s["churn_rate"] <= 1
    assert set(s["baseline_alive"]) == {"auc", "pr_auc", "brier", "lift_top_decile"}


@pytest.mark.notebook
def test_notebook_customer_table_entry(run_notebook, tiny_tx_dir, tmp_path):
    path = tmp_path / "crm.csv"
    _mixed_table(n=300).to_csv(path, index=False)
    s = run_notebook(
        NB, tiny_tx_dir, customer_table=str(path), label_col="churn", id_col="id", cv_folds=3
    )
    assert s["auc"] > 0.7 and s["baseline_recency"]["auc"] is None and s["n_test"] == 75


@pytest.mark.notebook
def test_notebook_on_sample_beats_recency(sample_page):
    s, _ = sample_page(NB)  # page 04 as the sample report ran it (built once, shared)
    assert s["auc"] > s["baseline_recency"]["auc"]


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_on_cdnow_matches_bgnbd(run_notebook):
    # its run time (15.6 s here, target < 60 s) is measured in docs/benchmark.md, not asserted
    _need(CDNOW)
    s = run_notebook(NB, CDNOW)
    assert s["auc"] >= s["baseline_alive"]["auc"] and s["n_test"] > 5000


@pytest.mark.slow
def test_bgnbd_on_cdnow_near_published_fit():
    from analysis.data import io as aio
    from analysis.engine.aggregate import customer_summary

    _need(CDNOW)
    # Fader, Hardie & Lee (2005), 39-week calibration on CDNOW: r 0.243, alpha 4.414, a 0.793, b 2.426
    # (their 1/10 sample; the full file gives close values)
    s = customer_summary(aio.load_dataset(CDNOW).transactions, as_of="1997-10-01").query(
        "frequency > 0"
    )
    fit = (
        churn.BetaGeoModel()
        .fit(s["frequency"] - 1, (s["tenure_days"] - s["recency_days"]) / 7, s["tenure_days"] / 7)
        .params_
    )
    for k, v in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert fit[k] == pytest.approx(v, rel=0.15), k


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_on_telco_table(run_notebook, tiny_tx_dir):
    _need(TELCO)
    s = run_notebook(
        NB,
        tiny_tx_dir,
        customer_table=str(TELCO),
        label_col="Churn",
        id_col="customerID",
        value_col="MonthlyCharges",
    )
    assert s["auc"] >= 0.84 and s["n_train"] + s["n_test"] == 7043
