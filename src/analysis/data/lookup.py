"""Membership of ids in a set of ids, fast for the Arrow-backed text of pandas 3."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Arrow types of text values
_TEXT = ("string", "large_string", "string_view")


def is_in(values: pd.Series | pd.Index, allowed) -> pd.Series | np.ndarray:
    """``values.isin(allowed)``, the same booleans, by Arrow's hash kernel for Arrow-backed text.

    pandas 3.1's ``isin`` on Arrow-backed text turns every allowed value into a Python scalar first:
    2.5 s to look 500,000 customer ids up in 470,000, against 0.2 s for Arrow's ``is_in``.  Other
    dtypes, and allowed values that are not all text, go to pandas' ``isin`` unchanged.

    Parameters
    ----------
    values : Series or Index
        The values looked up (e.g. a customer id column).
    allowed : Series, Index, array, set or list
        The values looked for.  A missing value matches a missing value, as in pandas.

    Returns
    -------
    Series or ndarray
        For a Series, a boolean Series on its index; for an Index, a boolean array (as ``isin``).
    """
    fast = _arrow_is_in(values, allowed)
    if fast is None:
        return values.isin(allowed)
    if isinstance(values, pd.Index):
        return fast
    return pd.Series(fast, index=values.index, name=values.name)


def _arrow_is_in(values, allowed) -> np.ndarray | None:
    data = getattr(values, "array", None)
    chunked = getattr(data, "_pa_array", None)
    if chunked is None:
        return None
    import pyarrow.compute as pc

    if str(chunked.type) not in _TEXT:
        return None
    wanted = _text_array(allowed, chunked.type)
    if wanted is None:
        return None
    if len(wanted) == 0:
        return np.zeros(len(values), dtype=bool)
    found = pc.is_in(chunked, value_set=wanted, skip_nulls=False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _text_array(allowed, arrow_type):
    """``allowed`` as an Arrow array of ``arrow_type``, or None when it holds anything but text
    and missing values (pandas then decides)."""
    import pyarrow as pa

    if isinstance(allowed, (pd.Series, pd.Index)):
        chunked = getattr(allowed.array, "_pa_array", None)
        if chunked is not None and str(chunked.type) in _TEXT:
            return chunked.combine_chunks().cast(arrow_type)
        allowed = allowed.to_numpy(dtype=object)
    items = list(allowed) if not isinstance(allowed, np.ndarray) else allowed.tolist()
    if not all(isinstance(v, str) or v is None or v is pd.NA or _is_nan(v) for v in items):
        return None
    return pa.array([v if isinstance(v, str) else None for v in items], type=arrow_type)


def _is_nan(v) -> bool:
    return isinstance(v, float) and v != v


def positions(values: pd.Series | pd.Index, wanted: pd.Series | pd.Index) -> np.ndarray:
    """Where each of ``values`` first sits in ``wanted`` (``Index.get_indexer``), by Arrow's hash
    kernel for Arrow-backed text.

    pandas looks Arrow-backed text up through Python objects; Arrow's ``index_in`` takes a
    third of the time for 470,000 customer ids.

    Parameters
    ----------
    values : Series or Index
        The values looked up.
    wanted : Series or Index
        The values looked in; a value's position is its row number here.

    Returns
    -------
    ndarray of int64
        One position per value of ``values`` (the first, where ``wanted`` repeats it); -1
        where the value is not in ``wanted``.  A missing value finds a missing value.
    """
    chunked = getattr(getattr(values, "array", None), "_pa_array", None)
    if chunked is not None and str(chunked.type) in _TEXT:
        target = _text_array(wanted, chunked.type)
        if target is not None:
            import pyarrow.compute as pc

            found = pc.index_in(chunked, value_set=target, skip_nulls=False)
            return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
    index = pd.Index(wanted)
    first = ~index.duplicated(keep="first")
    at = index[first].get_indexer(values)
    return np.where(at >= 0, np.flatnonzero(first)[at], -1).astype(np.int64)
