"""Churn at scale: the stratified samples, chunked scoring, the sorted lines and the page's note.

What must hold whatever the size: a sample keeps the churn rate (within one customer) and is the
same for a seed; nothing is sampled below the thresholds (the result is the full fit's); scoring
in chunks gives the very same numbers; the sorted-lines features are those of the customer
summary, to the last bit whatever the order of the lines; the note appears only with a sample.
"""

from __future__ import annotations

import importlib
import inspect
import math

import numpy as np
import pandas as pd
import pytest

from analysis import churn
from analysis.accounts import retention
from analysis.churn.features import churn_features, features_at
from analysis.churn.history import TransactionHistory, day_number
from analysis.churn.models import stratified_sample
from analysis.engine.aggregate import customer_summary

END = "2026-01-01"
FAST = dict(cv_folds=3, random_state=0, candidates=("logistic_c0.1", "gradient_boosting"))


def _company(n=240, seed=5):
    """Customers buying at their own rate from their own start; a third stop at a random day."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-01", "2025-12-31")
    rows = []
    for i in range(n):
        rate, size = rng.uniform(0.02, 0.12), rng.lognormal(6, 1)
        start = int(rng.integers(0, 400))
        stop = len(days) if rng.random() < 0.65 else int(rng.integers(start + 100, len(days)))
        bought = start + np.flatnonzero(rng.random(stop - start) < rate)
        for d in bought:
            amount = round(size * rng.uniform(0.5, 1.5), 2) * (-0.3 if rng.random() < 0.05 else 1)
            rows.append((f"K{i:04d}", days[d], amount, round(abs(amount) * 0.7, 2)))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount", "cost"])


@pytest.fixture(scope="module")
def company():
    return _company()


# ------------------------------------------------------------------ the stratified sample
def test_sample_of_ten_by_hand():
    # 7 stayed, 3 churned; 5 wanted: exact shares 3.5 and 1.5, floors 3 and 1, the one row left
    # goes to the larger remainder, a tie here: the first class (0) gets it -> 4 stayed, 1 churned
    y = np.array([0, 1, 0, 0, 1, 0, 0, 1, 0, 0])
    keep = stratified_sample(y, 5, random_state=0)
    assert len(keep) == 5 and list(keep) == sorted(keep) and len(set(keep)) == 5
    assert int(y[keep].sum()) == 1


def test_sample_keeps_the_churn_rate_within_one_customer():
    rng = np.random.default_rng(3)
    for n_rows, churners, n in [(1000, 137, 300), (5000, 4001, 777), (50, 1, 10), (999, 500, 998)]:
        y = np.zeros(n_rows, dtype=int)
        y[rng.choice(n_rows, churners, replace=False)] = 1
        keep = stratified_sample(y, n, random_state=1)
        assert len(keep) == n
        assert abs(y[keep].sum() - n * churners / n_rows) < 1, (n_rows, churners, n)
    # 1000 rows, 137 churners, 300 drawn: 41.1 churners due -> 41
    y = np.r_[np.ones(137, int), np.zeros(863, int)]
    assert y[stratified_sample(y, 300, random_state=9)].sum() == 41


def test_sample_is_fixed_by_its_seed():
    y = np.random.default_rng(0).integers(0, 2, 2000)
    a, b = stratified_sample(y, 500, 7), stratified_sample(y, 500, 7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, stratified_sample(y, 500, 8))


def test_no_sample_at_or_below_the_size():
    y = np.array([0, 1, 1, 0])
    for n in (None, 0, 4, 10):
        assert list(stratified_sample(y, n, 0)) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="positive"):
        stratified_sample(y, -1, 0)


# ------------------------------------------------------------------ backtest: thresholds
def _same_study(a, b):
    pd.testing.assert_frame_equal(a.predictions, b.predictions, check_exact=True)
    pd.testing.assert_frame_equal(a.metrics, b.metrics, check_exact=True)
    pd.testing.assert_series_equal(a.scoring.probability, b.scoring.probability, check_exact=True)
    pd.testing.assert_frame_equal(a.model.cv_scores, b.model.cv_scores, check_exact=True)


def test_below_the_thresholds_nothing_is_sampled(company):
    full = churn.backtest(company, END, train_sample=None, choice_sample=None, **FAST)
    roomy = churn.backtest(company, END, train_sample=10**6, choice_sample=10**6, **FAST)
    _same_study(full, roomy)
    assert (roomy.n_train_used, roomy.n_choice) == (roomy.n_train, roomy.n_train)
    assert roomy.n_refit_used == roomy.n_test and roomy.model.n_calibration == 0
    assert not roomy.sampled and churn.sample_note(roomy, "en") == ""


@pytest.fixture
def small_calibration_fold(monkeypatch):
    """A fold of 30 customers counts as large enough to calibrate on (5,000 in the report)."""
    monkeypatch.setattr(importlib.import_module("analysis.churn.backtest"), "CALIBRATION_FOLD", 30)


def test_a_large_window_is_fitted_on_a_sample(company, small_calibration_fold):
    res = churn.backtest(company, END, train_sample=120, choice_sample=60, **FAST)
    assert res.n_train > 120 and res.n_train_used == 120 and res.n_choice == 60
    assert res.n_refit_used == 120 < res.n_test
    # calibrated on one held-out fold of the sample: 120 customers in 3 folds -> 40
    assert res.model.n_calibration == 40 and res.model.n_fit == 120
    assert len(res.model.calibrated.calibrated_classifiers_) == 1
    # every customer is still tested and scored
    assert len(res.predictions) == res.n_test and res.predictions["model"].notna().all()
    assert res.scoring.probability.notna().all() and res.sampled


def test_one_calibration_fold_only_from_its_size(company, monkeypatch):
    backtest = importlib.import_module("analysis.churn.backtest")
    monkeypatch.setattr(backtest, "CALIBRATION_FOLD", 50)
    res = churn.backtest(company, END, train_sample=None, choice_sample=None, **FAST)
    # a third of the training window (stratified folds: within one customer) holds >= 50
    assert res.n_train // 3 >= 50 and abs(res.model.n_calibration - res.n_train / 3) < 1
    assert len(res.model.calibrated.calibrated_classifiers_) == 1 and not res.sampled
    monkeypatch.setattr(backtest, "CALIBRATION_FOLD", res.n_train // 3 + 1)
    res = churn.backtest(company, END, train_sample=None, choice_sample=None, **FAST)
    assert res.model.n_calibration == 0 and len(res.model.calibrated.calibrated_classifiers_) == 3


# ------------------------------------------------------------------ the page's note
def test_note_names_each_sample_in_both_languages(company, small_calibration_fold):
    res = churn.backtest(company, END, train_sample=120, choice_sample=60, **FAST)
    en, zh = churn.sample_note(res, "en"), churn.sample_note(res, "zh")
    assert en == (
        f"The model was trained on a stratified sample of 120 of the training window's "
        f"{res.n_train:,} customers. The model was fitted on 80 customers and its probabilities "
        f"calibrated on 40 others (one held-out fold). The scoring model was refitted on a "
        f"stratified sample of 120 of the test window's {res.n_test:,} customers. The candidate "
        f"models were compared (cross-validated) on a stratified sample of 60 of the 120 "
        f"customers the model was trained on."
    )
    assert zh.startswith(f"模型在 120 名客户的分层抽样上训练（训练窗口共 {res.n_train:,} 名）。")
    assert "候选模型在用于训练的 120 名客户中分层抽取 60 名进行比较" in zh


def test_note_with_only_the_choice_subsample(company):
    res = churn.backtest(company, END, train_sample=None, choice_sample=90, **FAST)
    assert churn.sample_note(res, "en") == (
        f"The candidate models were compared (cross-validated) on a stratified sample of 90 of the "
        f"{res.n_train:,} customers the model was trained on."
    )


# ------------------------------------------------------------------ chunked scoring
@pytest.mark.parametrize("name", ["logistic_c0.1", "gradient_boosting"])
def test_scoring_in_chunks_equals_scoring_at_once(company, name):
    X, y = features_at(TransactionHistory(company), "2025-10-03", horizon_days=90)
    model = churn.fit_churn_model(X, y, cv_folds=3, force=name)
    assert len(X) % 64 and len(X) > 130  # a last chunk shorter than the others
    whole = model.predict_proba(X, chunk_rows=64 * (len(X) // 64 + 1))
    for rows in (64, 128):
        assert np.array_equal(model.predict_proba(X, chunk_rows=rows), whole), rows
    for rows in (0, 7, 100):  # not whole blocks: the logistic product could differ in a last bit
        with pytest.raises(ValueError, match="multiple of 64"):
            model.predict_proba(X, chunk_rows=rows)


def test_reasons_in_chunks_equal_reasons_at_once(company, monkeypatch):
    X, y = features_at(TransactionHistory(company), "2025-10-03", horizon_days=90)
    model = churn.fit_churn_model(X, y, cv_folds=3, force="logistic_c0.1")
    whole = churn.explain(model, X, lang="en")
    # the module, not the function of the same name that analysis.churn exports
    monkeypatch.setattr(importlib.import_module("analysis.churn.explain"), "CHUNK_ROWS", 13)
    pd.testing.assert_frame_equal(churn.explain(model, X, lang="en"), whole)
    assert whole["reasons"].str.len().gt(0).any()


# ------------------------------------------------------------------ the sorted lines
def test_sorted_lines_agree_with_the_customer_summary(company):
    cut = pd.Timestamp("2025-10-03")
    f = churn_features(company, cut).set_index("customer_id")
    s = customer_summary(company, as_of=cut, engine="pandas").set_index("customer_id")
    s = s.loc[f.index]
    for col in ("recency_days", "frequency", "tenure_days", "n_returns"):
        assert np.array_equal(f[col].to_numpy(), s[col].to_numpy(dtype="float64")), col
    for col in ("monetary", "avg_interval_days"):
        np.testing.assert_allclose(f[col], s[col], rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(f["margin_rate"], s["gross_profit"] / s["monetary"], rtol=1e-12)


def test_sums_are_exact_and_do_not_depend_on_the_order_of_the_lines(company):
    cut = pd.Timestamp("2025-10-03")
    shuffled = company.sample(frac=1.0, random_state=4).reset_index(drop=True)
    a = churn_features(company, cut)
    b = churn_features(shuffled, cut)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    past = company[company["date"] < cut]
    monetary = a.set_index("customer_id")["monetary"]
    for cid in monetary.index[:40]:
        amounts = past.loc[past["customer_id"] == cid, "amount"]
        assert monetary[cid] == math.fsum(amounts), cid  # correctly rounded, not merely close


def test_one_purchase_by_hand():
    # K bought 100 on 2025-01-10 and 50 on 2025-01-20, returned 30 on 2025-02-01; L bought once
    tx = pd.DataFrame(
        {
            "customer_id": ["K", "K", "K", "L"],
            "date": pd.to_datetime(["2025-01-10", "2025-01-20", "2025-02-01", "2025-02-05"]),
            "amount": [100.0, 50.0, -30.0, 80.0],
        }
    )
    h = TransactionHistory(tx)
    snap = h.snapshot(day_number("2025-03-01"))
    k, m = list(h.ids).index("K"), list(h.ids).index("L")
    assert snap.frequency[k] == 2 and snap.monetary[k] == 120.0 and snap.returns_amount[k] == 30.0
    assert snap.cutoff - snap.last_day[k] == 40  # 2025-03-01 - 2025-01-20
    assert snap.returns_amount[m] == 0.0 and math.copysign(1, snap.returns_amount[m]) == 1
    assert list(h.ids[snap.active(30)]) == ["L"]  # K's last purchase is 40 days back


# ------------------------------------------------------------------ page 09 uses page 04's settings
def test_page_09_runs_page_04s_computation():
    sig = inspect.signature(retention.churn_risk).parameters
    assert sig["train_sample"].default == churn.TRAIN_SAMPLE
    assert sig["choice_sample"].default == churn.CHOICE_SAMPLE
    bt = inspect.signature(churn.backtest).parameters
    for name in ("horizon_days", "active_days", "trend_days", "cv_folds", "random_state"):
        assert sig[name].default == bt[name].default, name


def test_lines_without_an_id_or_a_date_are_left_out():
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b", None, "a"],
            "date": pd.to_datetime(["2200-01-05", "2200-03-01", "2200-01-01", None]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    h = TransactionHistory(tx)  # dates past 2149 too: day numbers above 65,535
    assert list(h.ids) == ["a", "b"]
    snap = h.snapshot(day_number("2200-02-01"))
    assert list(snap.monetary) == [1.0, 0.0] and list(snap.frequency) == [1, 0]
    assert list(h.sales(None, day_number("2201-01-01"))) == [1.0, 2.0]


# ------------------------------------------------------------------ memory: chunks, freed lines
def test_sums_and_gaps_by_hand_in_chunks_of_one(monkeypatch):
    # K: 0.1, 0.2, 0.3 (naive left-to-right sum 0.6000000000000001; correctly rounded 0.6) on
    # days 1, 3 and 7 of January: gaps 2 and 4, squared 4 + 16 = 20; one line of 0.3 lacks a cost
    tx = pd.DataFrame(
        {
            "customer_id": ["K", "K", "K", "L"],
            "date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-07", "2025-01-02"]),
            "amount": [0.1, 0.2, 0.3, 5.0],
            "cost": [0.05, 0.1, np.nan, 1.0],
        }
    )
    monkeypatch.setattr(importlib.import_module("analysis.churn.history"), "_CHUNK", 1)
    h = TransactionHistory(tx)
    snap = h.snapshot(day_number("2025-02-01"))
    assert snap.monetary.tolist() == [0.6, 5.0]
    assert snap.gap_sq_sum.tolist() == [20.0, 0.0] and snap.frequency.tolist() == [3, 1]
    assert snap.cost_lines.tolist() == [2.0, 1.0]
    assert snap.gross_profit.tolist() == [math.fsum([0.1 - 0.05, 0.2 - 0.1]), 4.0]
    assert h.lines(None, day_number("2025-01-04")).tolist() == [2, 1]
    assert h.purchase_days(day_number("2025-01-02"), day_number("2025-01-08")).tolist() == [2, 1]


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_chunked_sums_equal_one_pass(company, monkeypatch, chunk):
    # the same snapshots and features to the last bit whatever the chunk: the whole-number sums
    # (counts, squared gaps, the grid part of money) add up exactly, the rest is added in order
    cut = day_number("2025-06-01")
    ref = TransactionHistory(company)
    a, fa = ref.snapshot(cut), features_at(ref, "2025-06-01", horizon_days=90)[0]
    monkeypatch.setattr(importlib.import_module("analysis.churn.history"), "_CHUNK", chunk)
    h = TransactionHistory(company)
    b, fb = h.snapshot(cut), features_at(h, "2025-06-01", horizon_days=90)[0]
    for name in ("frequency", "first_day", "last_day", "monetary", "returns_amount"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x.view(np.int64), y.view(np.int64)), name
    for name in ("n_returns", "gross_profit", "cost_lines", "gap_sq_sum"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    pd.testing.assert_frame_equal(fa, fb, check_exact=True)


def test_features_are_the_frame_of_their_columns(company):
    # written row by row into one block, the frame is the one pandas builds from the columns
    X, _ = features_at(TransactionHistory(company), "2025-06-01", horizon_days=90)
    rebuilt = pd.DataFrame({c: X[c].to_numpy().copy() for c in X.columns}, index=X.index)
    pd.testing.assert_frame_equal(X, rebuilt, check_exact=True)
    assert (X.dtypes == "float64").all() and "margin_rate" in X.columns


def test_forget_drops_a_snapshot_and_its_numbers_come_back(company):
    h = TransactionHistory(company)
    cut = day_number("2025-06-01")
    first = h.snapshot(cut)
    h.forget(cut)
    h.forget(cut + 1)  # never taken: ignored
    again = h.snapshot(cut)
    assert again is not first and np.array_equal(again.monetary, first.monetary)


def test_the_sorted_lines_are_freed_before_any_model_is_fitted(company, monkeypatch):
    import weakref

    bt = importlib.import_module("analysis.churn.backtest")
    made, fit = [], bt.fit_churn_model

    def history_for(tx):
        h = TransactionHistory(tx)
        made.append(weakref.ref(h))
        return h

    def checked_fit(*args, **kwargs):
        assert made and made[0]() is None, "the history is still alive while a model is fitted"
        return fit(*args, **kwargs)

    monkeypatch.setattr(bt, "history_for", history_for)
    monkeypatch.setattr(bt, "fit_churn_model", checked_fit)
    res = bt.backtest.__wrapped__(company, END, **FAST)
    assert res.n_test > 0 and res.scoring.model.n_fit > 0


def test_reasons_joined_by_hand():
    # blanks after the first reason are left out; a blank first reason stays (as before)
    explain_mod = importlib.import_module("analysis.churn.explain")
    cols = [
        pd.array(["久未购买 (120)", "", "a", "x", ""], dtype="str"),
        pd.array(["频次低 (1)", "", "b", "", "q"], dtype="str"),
        pd.array(["", "", "c", "", ""], dtype="str"),
    ]
    joined = explain_mod._joined(cols)
    assert list(joined) == ["久未购买 (120); 频次低 (1)", "", "a; b; c", "x", "; q"]
    assert joined.dtype == pd.StringDtype(na_value=np.nan)
