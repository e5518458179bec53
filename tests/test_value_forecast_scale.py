"""The value forecast's shortcuts for large data give what the plain computations give (issue 14):
sklearn's own weighted bin edges from one sort, trees fitted on bin numbers that predict as sklearn's
trees fitted on the values, the radix-sorted customer-day totals, and the shared window masks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper

from analysis.value import forecast as vf


def _columns(n, rng):
    x = np.c_[
        rng.lognormal(size=n),  # continuous: weighted percentiles
        rng.integers(0, 50, n).astype(float),  # few distinct values: midpoints
        np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),  # blanks
        np.round(rng.exponential(size=n), 1),  # many ties
        np.zeros(n),  # one value: no edge
    ]
    x[: n // 4, 0] = 0.0  # a heavy mass at zero, as customers without sales in a window
    return x


def test_bin_edges_are_sklearns_weighted_edges():
    rng = np.random.default_rng(1)
    x, w = _columns(5000, rng), rng.lognormal(size=5000)
    sk = _BinMapper(n_bins=256).fit(x, sample_weight=w).bin_thresholds_
    for j in range(x.shape[1]):
        assert np.array_equal(vf._bin_thresholds(x[:, j], w), sk[j]), j
    # the weights matter: unweighted edges differ, so the comparison can fail
    assert not np.array_equal(vf._bin_thresholds(x[:, 0], np.ones(5000)), sk[0])


def test_bin_edges_by_hand():
    # three distinct values (<= max_bins): the midpoints, whatever the weights
    assert vf._bin_thresholds(
        np.array([1.0, 3.0, 3.0, 7.0]), np.array([1.0, 5, 5, 1])
    ).tolist() == [
        2.0,
        5.0,
    ]
    # four distinct values and max_bins = 2: the weighted median, 3 (weights 1, 5, 1, 1: half the
    # weight lies at or below 3 only from 3 on)
    col, w = np.array([1.0, 3.0, 5.0, 7.0]), np.array([1.0, 5.0, 1.0, 1.0])
    assert vf._bin_thresholds(col, w, max_bins=2).tolist() == [3.0]
    assert vf._bin_thresholds(np.array([2.0, np.nan]), np.ones(2)).size == 0


def test_trees_on_bin_numbers_predict_as_trees_on_values():
    rng = np.random.default_rng(2)
    n = 3000
    f = pd.DataFrame(
        {
            c: rng.lognormal(size=n) * (rng.random(n) < 0.8)
            for c in vf.FEATURES
            if c not in ("days_lookback", "sales_lookback")
        }
    ).assign(
        days_lookback=rng.integers(0, 60, n).astype(float),
        sales_lookback=rng.lognormal(3, 1, n),
        lookback_days=365,
        margin_rate=np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
    )
    y = f["sales_lookback"].to_numpy() * rng.lognormal(0, 0.5, n)
    ours = vf._RunRateBoosting(random_state=0).fit(f, y, 365, max_fit_rows=10**6)
    assert ours.thresholds is not None
    # sklearn on the values, with the same settings, weights and target
    base = np.maximum(vf._run_rate(f, 365)[1], ours.floor)
    plain = HistGradientBoostingRegressor(**ours.model.get_params()).fit(
        f[ours.columns].to_numpy(float), np.clip(y, 0, None) / base, sample_weight=base
    )
    g = f.sample(frac=1.0, random_state=3)  # other rows' order: scoring is per row
    expected = np.clip(base[g.index] * plain.predict(g[ours.columns].to_numpy(float)), 0, None)
    np.testing.assert_array_equal(ours.predict(g, 365), expected)


@pytest.mark.parametrize("high", [1, 2**16, 2**31, 2**40, 2**60])
def test_unique_inverse_is_numpys(high):
    rng = np.random.default_rng(4)
    key = rng.integers(0, high, 20_000, dtype=np.int64)
    u, inv = vf._unique_inverse(key)
    nu, ninv = np.unique(key, return_inverse=True)
    assert np.array_equal(u, nu) and np.array_equal(inv, ninv)
    assert [a.size for a in vf._unique_inverse(np.array([], np.int64))] == [0, 0]


def test_window_sums_by_hand():
    tx = pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "b", "a"],
            "date": pd.to_datetime(
                ["2025-01-02", "2025-01-01", "2025-01-03", "2025-01-03", "2025-01-01"]
            ),
            "amount": [5.0, 1.0, 2.0, -4.0, 10.0],
        }
    )
    d = vf._prepare(tx, id_col="customer_id", date_col="date", amount_col="amount", cost_col="cost")
    # a: 11 on the 1st (two lines, one purchase day), 2 on the 3rd; b: 5 on the 2nd, -4 on the 3rd
    assert d.ids.tolist() == ["a", "b"] and d.net.tolist() == [11.0, 2.0, 5.0, -4.0]
    assert d.buy.tolist() == [True, True, True, False] and not d.has_cost
    day = vf._to_day("2025-01-02")
    net, days = vf._window_sums(d, (d.net, d.buy.astype(float)), day, day + 2)
    assert net.tolist() == [2.0, 1.0] and days.tolist() == [1.0, 1.0]

    # a boolean array is counted: the same floats as summing it as 0.0 and 1.0
    (counted,) = vf._window_sums(d, (d.buy,), day, day + 2)
    assert counted.dtype == np.float64 and counted.tolist() == [1.0, 1.0]


COLS = dict(id_col="customer_id", date_col="date", amount_col="amount", cost_col="cost")


def _plain_days(tx: pd.DataFrame) -> dict:
    """The customer-day totals by the plain formulas (np.unique, a np.where per sum): the pass as it
    was before it dropped its line-level temporaries early (issue 14)."""
    code, uniques = pd.factorize(tx["customer_id"], sort=True)
    day = tx["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    amount = tx["amount"].to_numpy(dtype="float64")
    cost = tx["cost"].to_numpy(dtype="float64", na_value=np.nan)
    with_cost = ~np.isnan(cost)
    d0, span = int(day.min()), int(day.max() - day.min()) + 1
    uniq, inv = np.unique(code.astype(np.int64) * span + (day - d0), return_inverse=True)
    k = len(uniq)
    sums = lambda w: np.bincount(inv, weights=w, minlength=k)  # noqa: E731
    gross = sums(np.where(amount > 0, amount, 0.0))
    return dict(
        ids=pd.Index(uniques),
        code=(uniq // span).astype(np.int64),
        day=uniq % span + d0,
        net=sums(amount),
        gross=gross,
        gp=sums(np.where(with_cost, amount - np.nan_to_num(cost), 0.0)),
        costed=sums(np.where(with_cost, amount, 0.0)),
        buy=gross > 0,
        has_cost=bool(with_cost.any()),
    )


@pytest.mark.parametrize("case", ["plain", "infinite-cost", "no-known-cost"])
def test_prepare_gives_the_plain_formulas_bit_for_bit(case):
    rng = np.random.default_rng(11)
    n = 5_000
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(rng.choice([f"c{i:03d}" for i in range(300)], n), dtype="str"),
            # before and after 1970, with times of day; several lines on one day
            "date": pd.Timestamp("1969-11-01")
            + pd.to_timedelta(rng.integers(0, 400 * 24, n), unit="h"),
            "amount": np.round(rng.normal(50, 80, n), 2),  # returns included
            "cost": np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(0, 60, n), 2)),
        }
    )
    if case == "infinite-cost":
        tx.loc[[3, 7], "cost"] = [np.inf, -np.inf]
    if case == "no-known-cost":
        tx["cost"] = np.nan
    before = tx.copy()
    got, ref = vf._prepare(tx, **COLS), _plain_days(tx)
    pd.testing.assert_frame_equal(tx, before)  # the lines are left as they were
    pd.testing.assert_index_equal(got.ids, ref["ids"], exact=True)
    for f in ("code", "day", "net", "gross", "gp", "costed", "buy"):
        x, y = ref[f], getattr(got, f)
        assert y.dtype == x.dtype and np.array_equal(x, y), f
    assert got.has_cost == ref["has_cost"] == (case != "no-known-cost")
    assert not np.shares_memory(got.code, got.day)


def test_finite_is_nan_to_num_for_infinities():
    v = np.array([1.5, np.inf, -np.inf, np.nan])
    out = vf._finite(v)
    big = np.finfo(np.float64).max
    assert out[:3].tolist() == [1.5, big, -big] and np.isnan(out[3])
    plain = np.array([1.5, np.nan])
    assert vf._finite(plain) is plain  # nothing to replace: no copy


def test_digit_is_the_shifted_bits():
    key = np.array([0x0001_0002_0003, 0xFFFF_0000_ABCD, 5], np.int64)
    assert vf._digit(key, 0).tolist() == [3, 0xABCD, 5]
    assert vf._digit(key, 16).tolist() == [2, 0, 0]
    assert vf._digit(key, 32).tolist() == [1, 0xFFFF, 0]
    assert np.shares_memory(vf._digit(key, 16), key)  # a view of the key's bytes
    strided = key[::2]  # not contiguous: computed
    assert vf._digit(strided, 32).tolist() == [1, 0]


@pytest.mark.parametrize("high", [1, 2**16, 2**31, 2**47])
def test_radix_order_is_a_stable_argsort(high):
    key = np.random.default_rng(5).integers(0, high, 20_000, dtype=np.int64)
    assert np.array_equal(vf._radix_order(key), np.argsort(key, kind="stable"))
    assert vf._radix_order(np.array([2, 0, 2, 1], np.int64)).tolist() == [1, 3, 0, 2]


def test_unique_inverse_of_reuses_the_key_and_unique_inverse_does_not():
    key = np.array([7, 3, 7, 0, 3], np.int64)
    kept = key.copy()
    u, inv = vf._unique_inverse(key)
    assert np.array_equal(key, kept) and not np.shares_memory(inv, key)
    assert u.tolist() == [0, 3, 7] and inv.tolist() == [2, 1, 2, 0, 1]
    u2, inv2 = vf._unique_inverse_of(key)
    assert inv2 is key and u2.tolist() == [0, 3, 7] and inv2.tolist() == [2, 1, 2, 0, 1]


@pytest.mark.parametrize("seed", range(5))
def test_averaged_inverted_cdf_is_sklearns_weighted_percentile(seed):
    from sklearn.utils.stats import _weighted_percentile

    rng = np.random.default_rng(seed)
    values = np.sort(np.round(rng.exponential(size=3000), 1))  # many ties
    weight = rng.integers(1, 4, 3000).astype(float)  # whole weights: ranks fall on data points
    ranks = np.linspace(0, 100, num=256)[1:-1]
    want = np.asarray(_weighted_percentile(values, weight, ranks, average=True)).ravel()
    assert np.array_equal(vf._averaged_inverted_cdf(values, weight, ranks), want)


def test_averaged_inverted_cdf_by_hand():
    # weights 1, 1, 1, 1: the median falls exactly on 2 (half the weight) -> mean of 2 and 3;
    # the 30th percentile (1.2 of 4) falls between -> the higher value, 2
    got = vf._averaged_inverted_cdf(np.array([1.0, 2, 3, 4]), np.ones(4), np.array([50.0, 30.0]))
    assert got.tolist() == [2.5, 2.0]
