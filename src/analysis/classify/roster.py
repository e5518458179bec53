"""The customer roster (客户名册): one row per customer with every class assigned in notebook 01.

《如何做好客户分类管理》's analysis flow registers the roster (客户名册登记) before route
classification and the visit plan (page 09): staff get one table listing each customer
with its classes, so that visits, credit and service follow the classification.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.api.extensions import take
from pandas.arrays import NumpyExtensionArray

from analysis.classify.classes import header, label_values
from analysis.data.lookup import positions

__all__ = ["FORECAST_COLUMNS", "build_roster", "roster_for_staff", "with_value_forecast"]

#: roster columns from the value forecast -> the forecast's column (next 12 months)
FORECAST_COLUMNS = {
    "expected_sales_12m": "expected_sales",
    "expected_gross_profit_12m": "expected_gross_profit",
}


def build_roster(
    base: pd.DataFrame,
    parts: Iterable[pd.DataFrame | None],
    *,
    id_col: str = "customer_id",
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Left-join each part onto ``base`` by ``id_col``; a column already present is not taken again.

    Parameters
    ----------
    base : DataFrame
        One row per customer: the roster's rows (customers missing from a part
        get NaN there).
    parts : iterable of DataFrame or None
        Tables with ``id_col`` and one row per customer; None entries (a
        section that was skipped) are ignored.
    columns : sequence of str, optional
        Keep only these columns (in this order), where present.

    Returns
    -------
    DataFrame
        ``base`` with the parts' columns.

    Raises
    ------
    ValueError
        when ``base`` or a part repeats a customer.
    """
    if id_col not in base.columns:
        raise KeyError(f"Required column {id_col} missing from the roster base")
    wanted = None if columns is None else set(columns)
    seen = set(base.columns)
    ids = base[id_col]
    if ids.duplicated().any():
        raise ValueError("the roster base has more than one row for a customer")
    rows = pd.RangeIndex(len(base))
    # (name, column) pairs built once into one frame: a part's columns are taken straight onto
    # the base's rows (no filtered copy, reindexed copy, concatenation or column selection)
    kept = [(c, base.iloc[:, j].set_axis(rows)) for j, c in enumerate(base.columns)]
    for i, part in enumerate(p for p in parts if p is not None):
        if id_col not in part.columns:
            raise KeyError(f"Required column {id_col} missing from roster part {i + 1}")
        if part[id_col].duplicated().any():
            raise ValueError(f"roster part {i + 1} has more than one row for a customer")
        new = [c for c in part.columns if c not in seen]
        seen.update(new)
        new = [c for c in new if wanted is None or c in wanted]
        if new:  # a left join: each base row's row of the part (-1: none, a missing value)
            at = positions(ids, part[id_col])
            kept += [(c, _taken(part[c], at, rows)) for c in new]
    if columns is not None:
        kept = [(c, s) for name in columns for c, s in kept if c == name]
    out = pd.DataFrame({j: s for j, (_, s) in enumerate(kept)}, index=rows, copy=False)
    return out.set_axis([c for c, _ in kept], axis=1)


def _taken(column: pd.Series, at: np.ndarray, rows: pd.Index) -> pd.Series:
    """``column``'s values at positions ``at`` (-1 gives a missing value, as ``reindex`` does:
    integers become floats and booleans objects only where a row is missing)."""
    values = column.array
    if isinstance(values, NumpyExtensionArray):
        values = values.to_numpy()
    taken = take(values, at, allow_fill=True)
    return pd.Series(taken, index=rows, dtype=taken.dtype, name=column.name, copy=False)


def roster_for_staff(
    roster: pd.DataFrame, lang: str, *, coded: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The roster in ``lang``: class codes named (``coded`` maps column -> class kind, e.g.
    ``{"tier": "tier"}``) and headers labelled (see :func:`analysis.classify.classes.header`).

    Parameters
    ----------
    roster : DataFrame
        From :func:`build_roster`.
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.
    coded : mapping, optional
        Column -> class kind.

    Returns
    -------
    DataFrame
        The roster with names and headers in ``lang``.
    """
    coded = dict(coded or {})
    out = roster.assign(
        **{
            c: label_values(roster[c], kind, lang)
            for c, kind in coded.items()
            if c in roster.columns
        }
    )
    out.columns = [header(c, lang) for c in out.columns]
    return out


def with_value_forecast(
    roster: pd.DataFrame, forecast: pd.DataFrame | None, *, id_col: str = "customer_id"
) -> pd.DataFrame:
    """The roster with each customer's expected sales and gross profit over the next 12 months.

    ``forecast`` is :attr:`analysis.value.forecast.ValueForecast.customers` of a
    365-day forecast (``expected_sales``, ``expected_gross_profit``); it becomes
    ``expected_sales_12m`` and ``expected_gross_profit_12m`` (:data:`FORECAST_COLUMNS`).
    Customers without a forecast (not active) get 0 expected sales and NaN profit;
    None (no forecast could be made) adds nothing.

    Parameters
    ----------
    roster : DataFrame
        From :func:`build_roster`.
    forecast : DataFrame or None
        The forecast's customers.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        The roster with :data:`FORECAST_COLUMNS`.
    """
    if forecast is None:
        return roster
    for what, df in (("the roster", roster), ("the value forecast", forecast)):
        if id_col not in df.columns:
            raise KeyError(f"Required column {id_col} missing from {what}")
    missing = [c for c in FORECAST_COLUMNS.values() if c not in forecast.columns]
    if missing:
        raise KeyError(f"Required column {missing[0]} missing from the value forecast")
    part = forecast[[id_col, *FORECAST_COLUMNS.values()]].rename(
        columns={v: k for k, v in FORECAST_COLUMNS.items()}
    )
    out = build_roster(
        roster.drop(columns=[c for c in FORECAST_COLUMNS if c in roster.columns]),
        [part],
        id_col=id_col,
    )
    return out.assign(expected_sales_12m=out["expected_sales_12m"].fillna(0.0))
