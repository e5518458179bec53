"""Small helpers shared by the account-management modules."""

from __future__ import annotations

import pandas as pd


def unique_ids(df: pd.DataFrame, id_col: str, what: str) -> None:
    """Raise ValueError when a customer has more than one row of ``df``.

    Parameters
    ----------
    df : DataFrame
        The table.
    id_col : str
        Customer id column.
    what : str
        How the message names the table.
    """
    if df[id_col].duplicated().any():
        dup = df.loc[df[id_col].duplicated(), id_col].iloc[0]
        raise ValueError(f"{what} has more than one row for customer {dup!r} ({id_col})")


def blank_to_na(values: pd.Series) -> pd.Series:
    """Text with blanks (empty or spaces only) as missing; other values stripped.

    Parameters
    ----------
    values : Series
        Text values.

    Returns
    -------
    Series
        Stripped text, blanks as missing (object dtype).
    """
    s = values.astype("object").where(values.notna())
    s = s.map(lambda v: v.strip() if isinstance(v, str) else v)
    return s.where(s.map(lambda v: not (isinstance(v, str) and v == "")))


def growth(current: pd.Series, previous: pd.Series) -> pd.Series:
    """current / previous − 1; NaN where previous is not positive (no base to grow from).

    Parameters
    ----------
    current, previous : Series
        Values now and a year before, aligned.

    Returns
    -------
    Series
        The growth rate, float64.
    """
    prev = previous.astype("float64")
    return current.astype("float64") / prev.where(prev > 0) - 1
