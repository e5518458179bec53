"""analysis.data.lookup.is_in: the same booleans as pandas' isin, by Arrow for text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.lookup import is_in, positions

pytest.importorskip("pyarrow")


@pytest.mark.parametrize("dtype", ["string", "str", "string[pyarrow]", object])
@pytest.mark.parametrize(
    "allowed",
    [
        ["b", "d"],
        {"b", "x"},
        [],
        ["b", None],
        ["b", np.nan],
        [1, "b"],  # not all text: pandas decides
        pd.Series(["d", "a"], dtype="string"),
        pd.Series(["d", "a"], dtype="str"),
        pd.Index(["a"]),
        np.array(["c", "b"], dtype=object),
    ],
    ids=[
        "list",
        "set",
        "empty",
        "with-None",
        "with-nan",
        "not-all-text",
        "string-series",
        "str-series",
        "index",
        "object-array",
    ],
)
def test_is_in_equals_pandas_isin(dtype, allowed):
    values = pd.Series(["a", "b", None, "c", "b", "中文"], dtype=dtype, index=[5, 4, 3, 2, 1, 0])
    expected = values.isin(allowed)
    got = is_in(values, allowed)
    pd.testing.assert_series_equal(got, expected)
    np.testing.assert_array_equal(is_in(pd.Index(values), allowed), pd.Index(values).isin(allowed))


def test_ids_found_by_hand():
    ids = pd.Series(["C1", "C2", "C3", "C4"], dtype="string", name="customer_id")
    got = is_in(ids, {"C4", "C2", "C9"})
    assert got.tolist() == [False, True, False, True]
    assert got.name == "customer_id"


def test_numbers_go_to_pandas():
    values = pd.Series([1, 2, 3])
    assert is_in(values, [2]).tolist() == [False, True, False]


def test_many_ids_are_looked_up_by_arrow_not_one_by_one(monkeypatch):
    from pandas.core.arrays.string_arrow import ArrowStringArray

    def refuse(self, values):  # the slow path converts every allowed value in Python
        raise AssertionError("pandas' isin was used")

    monkeypatch.setattr(ArrowStringArray, "isin", refuse)
    ids = pd.Series([f"C{i:06d}" for i in range(2_000)], dtype="string")
    assert int(is_in(ids, set(ids.iloc[::2])).sum()) == 1_000


@pytest.mark.parametrize("dtype", ["string", "str", "string[pyarrow]", object])
def test_positions_equal_get_indexer(dtype):
    values = pd.Series(["b", "x", None, "中文", "a"], dtype=dtype)
    wanted = pd.Series(["a", "中文", None, "b"], dtype=dtype)
    expected = pd.Index(wanted).get_indexer(values)
    np.testing.assert_array_equal(positions(values, wanted), expected)
    np.testing.assert_array_equal(positions(pd.Index(values), wanted), expected)


def test_positions_by_hand_first_of_repeats_and_numbers():
    wanted = pd.Series(["C2", "C1", "C2"], dtype="str")
    assert positions(pd.Series(["C1", "C2", "C9"], dtype="str"), wanted).tolist() == [1, 0, -1]
    assert positions(pd.Series([3, 1, 9]), pd.Series([1, 2, 3, 1])).tolist() == [2, 0, -1]


def test_positions_of_many_ids_go_through_arrow(monkeypatch):
    def refuse(self, target, *a, **k):
        raise AssertionError("pandas' get_indexer was used")

    monkeypatch.setattr(pd.Index, "get_indexer", refuse)
    ids = pd.Series([f"C{i:06d}" for i in range(2_000)], dtype="str")
    assert positions(ids.iloc[::-1], ids).tolist() == list(range(1_999, -1, -1))
