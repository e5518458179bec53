"""Masking a firm's data for teaching (``ccm mask``): same numbers, no client exposed.

A bookkeeping firm or distributor that wants to teach on its own figures runs
``ccm mask --data-dir IN --out OUT``: the copy keeps every date, amount, class
driver and relation between tables, but

- every **customer id** is replaced by a pseudonym (``M0001`` ...), the same one
  in every table, so the copy's joins, classes and counts are the original's;
- every **customer name** becomes ``客户0001`` / ``Customer 0001`` (the number of
  its pseudonym id);
- every **product name** becomes ``商品001`` / ``Product 001`` (product ids, which
  are internal codes, are kept unless ``mask_product_ids``);
- every **salesperson** (a member of the firm's staff) becomes ``业务员01`` /
  ``Salesperson 01``, the same pseudonym for every customer that person owns;
- **free text** (the ``note`` of interactions) is replaced by a fixed marker;
- **document numbers** that may embed a customer code (``order_id`` of
  transactions, ``invoice_id`` of receivables) are renumbered, one pseudonym per
  original value, so order and invoice counts stay the same;
- columns outside the data contract (a contact person, a phone number ...) are
  **dropped**: the masker cannot know what they hold;
- amounts are optionally multiplied by ``scale`` (and rounded to cents), which
  keeps every share, rate, class and ranking but hides the firm's size.

Kept as they are: dates, channel, region, industry, tags, categories, quantities.
Tags come from the firm's approved list and define the tag classes; a firm whose
tags hold names must clean them first.

This is masking for teaching, not anonymisation: the kept dates, regions and
amounts can still point to a client for someone who knows the firm well.

Pseudonyms are drawn by a seeded permutation (``seed``), so the numbering does
not follow the original ids' order and the same seed gives the same copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import io as aio
from analysis.data.schema import TABLES
from analysis.viz.labels import check_lang, label

__all__ = [
    "CUSTOMER_TABLES",
    "MONEY_COLUMNS",
    "pseudonym_map",
    "mask_tables",
    "dropped_columns",
    "check_mask_paths",
    "mask_directory",
]

CUSTOMER_TABLES = ("customers", "transactions", "receivables", "interactions")
#: amounts multiplied by ``scale``: table -> columns (quantities and rates are not money)
MONEY_COLUMNS = {
    "transactions": ("amount", "cost"),
    "customers": ("credit_limit", "monthly_fee", "total_purchases"),
    "products": ("unit_cost", "unit_price"),
    "inventory": ("stock_value",),
    "receivables": ("amount", "paid_amount"),
    "targets": ("target",),
}
#: document-number columns renumbered with these prefixes
DOCUMENT_COLUMNS = {("transactions", "order_id"): "O", ("receivables", "invoice_id"): "I"}
_ID_PREFIXES = ("M", "MK", "MX", "MQ", "MZ")


# ------------------------------------------------------------------ pseudonyms
def _ids(tables: Mapping[str, pd.DataFrame], names: Iterable[str], col: str) -> list[str]:
    seen: set[str] = set()
    for name in names:
        df = tables.get(name)
        if df is not None and col in df.columns:
            seen.update(df[col].dropna().astype(str))
    return sorted(seen)


def _numbers(n: int, seed: int) -> np.ndarray:
    """1..n in a seeded random order: the pseudonym number of the i-th sorted original."""
    return np.random.default_rng(seed).permutation(n) + 1


def _width(n: int, minimum: int) -> int:
    return max(minimum, len(str(n)))


def pseudonym_map(
    tables: Mapping[str, pd.DataFrame], *, seed: int = 0, id_col: str = "customer_id"
) -> pd.DataFrame:
    """The customer pseudonyms: one row per customer id found in any table.

    Pseudonyms are ``<prefix><number>`` with a zero-padded number (at least four
    digits) drawn by a seeded permutation; the prefix (``M``, else ``MK`` ...) is
    the first for which no pseudonym equals an original id, so no original id
    can reappear in the copy.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The dataset.
    seed : int
        Seed of the permutation.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        ``original`` (the id as text), ``pseudonym``, ``number`` (int), sorted by ``original``.
    """
    originals = _ids(tables, CUSTOMER_TABLES, id_col)
    n = len(originals)
    numbers = _numbers(n, seed)
    width = _width(n, 4)
    taken = set(originals)
    for prefix in _ID_PREFIXES:
        pseudo = [f"{prefix}{k:0{width}d}" for k in numbers]
        if taken.isdisjoint(pseudo):
            break
    else:  # pragma: no cover - would need originals shaped like every prefix
        raise ValueError(
            "cannot find a pseudonym prefix that differs from every original customer id"
        )
    return pd.DataFrame(
        {
            "original": pd.Series(originals, dtype="object"),
            "pseudonym": pseudo,
            "number": numbers.astype("int64"),
        }
    )


def _renumber(values: pd.Series, prefix: str, seed: int) -> pd.Series:
    """One pseudonym per distinct value (``<prefix><number>``), blanks kept blank."""
    text = values.astype("string")
    originals = sorted(text.dropna().unique())
    numbers = _numbers(len(originals), seed)
    width = _width(len(originals), 6)
    mapping = {o: f"{prefix}{k:0{width}d}" for o, k in zip(originals, numbers)}
    return text.map(mapping).astype("string")


# ------------------------------------------------------------------ masking
def dropped_columns(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[str]]:
    """Columns outside the data contract, per table: :func:`mask_tables` drops them.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The dataset.

    Returns
    -------
    dict of str to list of str
        Table -> columns dropped.
    """
    out = {}
    for name, df in tables.items():
        spec = TABLES.get(name)
        extra = [str(c) for c in df.columns if spec is None or c not in spec.columns]
        if extra:
            out[name] = extra
    return out


def mask_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    seed: int = 0,
    scale: float | None = None,
    lang: str = "zh",
    mask_product_ids: bool = False,
) -> dict[str, pd.DataFrame]:
    """A masked copy of a dataset's tables (see the module note for what changes).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables as loaded by :func:`analysis.data.io.load_dataset` (``ds.tables``).
    seed : int
        Seed of the pseudonym numbering; the same seed gives the same copy.
    scale : float, optional
        Multiply every amount by this factor (e.g. 0.37); ``None`` or 1 keeps amounts.
    lang : {"zh", "en"}
        Language of the pseudonym names and the note marker.
    mask_product_ids : bool
        Also renumber product ids (consistently across transactions, products,
        inventory and targets).

    Returns
    -------
    dict of DataFrame
        The same table names; inputs are not modified.  Unknown tables (not in
        the data contract) are left out.
    """
    check_lang(lang)
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a positive number (e.g. 0.5), got {scale!r}")
    ids = pseudonym_map(tables, seed=seed)
    id_of = dict(zip(ids["original"], ids["pseudonym"]))
    width = _width(len(ids), 4)
    name_of = {
        o: label("mask_customer_name", lang, number=f"{k:0{width}d}")
        for o, k in zip(ids["original"], ids["number"])
    }
    products = _product_names(tables, seed=seed + 1, lang=lang)
    product_ids = _product_ids(tables, seed=seed + 2) if mask_product_ids else None
    note = label("mask_note", lang)
    reps = _salesperson_names(tables, seed=seed + 4, lang=lang)
    out = {}
    for name, df in tables.items():
        spec = TABLES.get(name)
        if spec is None:
            continue
        t = df[[c for c in df.columns if c in spec.columns]]
        changes = {}
        if "customer_id" in t.columns and name in CUSTOMER_TABLES:
            changes["customer_id"] = t["customer_id"].astype("string").map(id_of).astype("string")
        if name == "customers" and "name" in t.columns:
            changes["name"] = t["customer_id"].astype("string").map(name_of).astype("string")
        if name == "customers" and "salesperson" in t.columns:
            changes["salesperson"] = t["salesperson"].astype("string").map(reps).astype("string")
        if name == "products" and "name" in t.columns:
            changes["name"] = t["product_id"].astype("string").map(products).astype("string")
        if name == "interactions" and "note" in t.columns:
            changes["note"] = pd.Series(note, index=t.index, dtype="string").where(
                t["note"].notna()
            )
        if product_ids is not None and "product_id" in t.columns:
            changes["product_id"] = (
                t["product_id"].astype("string").map(product_ids).astype("string")
            )
        for (table, col), prefix in DOCUMENT_COLUMNS.items():
            if name == table and col in t.columns:
                changes[col] = _renumber(t[col], prefix, seed + 3)
        if scale is not None and scale != 1:
            for col in MONEY_COLUMNS.get(name, ()):
                if col in t.columns:
                    changes[col] = (t[col].astype("float64") * float(scale)).round(2)
        out[name] = t.assign(**changes)
    return out


def _salesperson_names(
    tables: Mapping[str, pd.DataFrame], *, seed: int, lang: str
) -> dict[str, str]:
    """Each distinct salesperson of ``customers`` -> ``业务员01`` / ``Salesperson 01`` (seeded order)."""
    df = tables.get("customers")
    if df is None or "salesperson" not in df.columns:
        return {}
    names = sorted(df["salesperson"].dropna().astype(str).unique())
    width = _width(len(names), 2)
    return {
        o: label("mask_salesperson_name", lang, number=f"{k:0{width}d}")
        for o, k in zip(names, _numbers(len(names), seed), strict=True)
    }


def _product_names(tables: Mapping[str, pd.DataFrame], *, seed: int, lang: str) -> dict[str, str]:
    originals = _ids(tables, ("products",), "product_id")
    numbers = _numbers(len(originals), seed)
    width = _width(len(originals), 3)
    return {
        o: label("mask_product_name", lang, number=f"{k:0{width}d}")
        for o, k in zip(originals, numbers)
    }


def _product_ids(tables: Mapping[str, pd.DataFrame], *, seed: int) -> dict[str, str]:
    originals = _ids(tables, ("transactions", "products", "inventory", "targets"), "product_id")
    numbers = _numbers(len(originals), seed)
    width = _width(len(originals), 4)
    taken = set(originals)
    for prefix in ("Q", "QP", "QX"):
        pseudo = [f"{prefix}{k:0{width}d}" for k in numbers]
        if taken.isdisjoint(pseudo):
            return dict(zip(originals, pseudo))
    raise ValueError(
        "cannot find a pseudonym prefix that differs from every original product id"
    )  # pragma: no cover


# ------------------------------------------------------------------ files
def _stale_files(out_dir: Path, tables: set[str]) -> list[str]:
    """Files in ``out_dir`` that the loader would read beside the copy's ``<table>.csv`` files."""
    if not out_dir.is_dir():
        return []
    return sorted(
        p.name
        for p in out_dir.iterdir()
        if p.name == aio.MAPPING_FILE
        or (
            p.suffix.lower() in aio.SUFFIXES
            and p.stem in TABLES
            and not (p.stem in tables and p.suffix == ".csv")
        )
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def _listing(folder: Path, limit: int = 5) -> str:
    names = sorted(p.name for p in folder.iterdir())
    return ", ".join(names[:limit]) + (
        f" and {len(names) - limit} more" if len(names) > limit else ""
    )


def check_mask_paths(
    in_dir: str | Path,
    out_dir: str | Path,
    *,
    key_file: str | Path | None = None,
    force: bool = False,
) -> None:
    """Refuse (ValueError) an output of ``ccm mask`` that could replace someone's files.

    Refused: ``out_dir`` equal to or inside the data folder, or a file; an
    ``out_dir`` that already holds files (unless ``force``: it may be another
    firm's data folder); a key file inside the data folder or inside
    ``out_dir`` (the key undoes the masking and must not travel with the copy),
    or one that is a folder or has an unknown suffix.  (An existing key file is
    refused by :func:`mask_directory` once the input files are known.)

    Parameters
    ----------
    in_dir, out_dir : str or Path
        The data folder and the output folder.
    key_file : str or Path, optional
        Where the pseudonym key goes.
    force : bool
        Allow a non-empty output folder.
    """
    data, out = Path(in_dir).expanduser().resolve(), Path(out_dir).expanduser().resolve()
    if out == data:
        raise ValueError(
            f"--out {out_dir} is the data folder itself: the masked copy must go to a new folder "
            f"(inputs are never overwritten)"
        )
    if _inside(out, data):
        raise ValueError(
            f"--out {out_dir} lies inside the data folder {in_dir}: choose a folder outside it "
            f"(inputs are never overwritten)"
        )
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"--out {out_dir} is a file; expected a new or empty folder for the masked copy"
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(
            f"--out {out_dir} is not empty (it holds {_listing(out)}) and may be another firm's "
            f"data: choose a new or empty folder, or pass --force to write the copy into it"
        )
    if key_file is None:
        return
    key = Path(key_file).expanduser().resolve()
    if _inside(key, out):
        raise ValueError(
            f"key file {key_file} must lie outside {out_dir}: the key undoes the masking"
        )
    if _inside(key, data):
        raise ValueError(
            f"--key-file {key_file} lies in the data folder {in_dir}: choose a path outside it "
            f"(inputs are never overwritten)"
        )
    if key.is_dir():
        raise ValueError(f"--key-file {key_file} is a folder; expected a new .csv or .xlsx file")
    if key.suffix.lower() not in (".csv", ".xlsx"):
        raise ValueError(f"--key-file {key_file}: expected a .csv or .xlsx file name")


def _refuse_inputs(targets: Iterable[Path], inputs: set[Path], what: str) -> None:
    for target in targets:
        if Path(target).resolve() in inputs:
            raise ValueError(
                f"{what} {target} is an input file of this data folder (named in columns.yaml): "
                f"inputs are never overwritten; choose another path"
            )


def mask_directory(
    in_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    scale: float | None = None,
    lang: str = "zh",
    mask_product_ids: bool = False,
    key_file: str | Path | None = None,
    force: bool = False,
) -> dict:
    """Load a data directory, mask it and write the copy as CSV files (``ccm mask``).

    The input files are only read, never replaced: see :func:`check_mask_paths`
    for the outputs refused before anything is read.  An input read from
    another folder (``files:`` in columns.yaml) is never replaced either, even
    with ``force``.  ``out_dir`` must not hold a table file that this run would
    not overwrite (a stale table would be loaded with the copy).

    Parameters
    ----------
    in_dir, out_dir : path
        The firm's data directory and the folder for the masked copy (new or empty).
    seed, scale, lang, mask_product_ids
        See :func:`mask_tables`.
    key_file : path, optional
        Where to write the customer key (original id -> pseudonym) as .csv or
        .xlsx, for the firm's own use; it must lie outside ``out_dir`` and the
        data folder (the key undoes the masking and must not travel with the copy).
    force : bool
        Write into a non-empty ``out_dir`` and replace an existing key file.

    Returns
    -------
    dict
        ``written`` (paths), ``tables`` (rows per table), ``customers`` (pseudonyms
        issued), ``dropped_columns`` (per table), ``scale`` and ``key_file``.
    """
    check_mask_paths(in_dir, out_dir, key_file=key_file, force=force)
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    ds = aio.load_dataset(in_dir)
    inputs = {Path(p).resolve() for p in ds.sources.values()} | {
        (in_dir / aio.MAPPING_FILE).resolve()
    }
    names = set(ds.tables) & set(TABLES)
    _refuse_inputs(
        [out_dir / f"{name}.csv" for name in sorted(names)], inputs, "the masked copy's file"
    )
    if key_file is not None:
        _refuse_inputs([Path(key_file)], inputs, "--key-file")
        if Path(key_file).exists() and not force:
            raise ValueError(
                f"--key-file {key_file} already exists: choose a new file, or pass --force to "
                f"replace it"
            )
    stale = _stale_files(out_dir, names)
    if stale:
        raise ValueError(
            f"{out_dir} already holds {', '.join(stale)}, which the copy would not replace "
            f"and the loader would read with it; use an empty folder"
        )
    masked = mask_tables(
        ds.tables, seed=seed, scale=scale, lang=lang, mask_product_ids=mask_product_ids
    )
    written = aio.write_tables(masked, out_dir, fmt="csv")
    key = None
    if key_file is not None:
        key = aio.write_frame(
            pseudonym_map(ds.tables, seed=seed)[["original", "pseudonym"]], key_file
        )
    return {
        "written": written,
        "tables": {k: len(v) for k, v in masked.items()},
        "customers": int(len(pseudonym_map(ds.tables, seed=seed))),
        "dropped_columns": dropped_columns(ds.tables),
        "scale": scale,
        "key_file": key,
    }
