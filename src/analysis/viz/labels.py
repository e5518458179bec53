"""The zh/en label table: one source of truth for every term on charts, tables and the glossary.

Labels live in ``analysis/labels/*.yaml`` (one file per analysis, merged here),
each entry ``key: {zh: 中文, en: English}``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from analysis.config import LANGS

_DIR = Path(__file__).with_name("labels")


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for path in sorted(_DIR.glob("*.yaml")):
        for key, entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if key in table:
                raise ValueError(f"label '{key}' defined twice (second time in {path.name})")
            if not isinstance(entry, dict) or set(entry) < set(LANGS):
                raise ValueError(f"label '{key}' in {path.name} needs both zh and en")
            table[key] = entry
    return table


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown lang {lang!r}; expected one of {', '.join(LANGS)}")
    return lang


def label(key: str, lang: str = "zh", **fmt) -> str:
    """The label for ``key`` in ``lang``; ``fmt`` fills ``{placeholders}``."""
    check_lang(lang)
    try:
        text = _table()[key][lang]
    except KeyError:
        raise KeyError(f"no label '{key}'; add it to a file in {_DIR}") from None
    return text.format(**fmt) if fmt else text


def labels_for(keys, lang: str = "zh") -> dict[str, str]:
    """Map each key to its label (handy for renaming columns or categories)."""
    return {k: label(k, lang) for k in keys}


def column_labels(columns, lang: str) -> list[str]:
    """Header texts: the label of each column that is a label key, else the column name."""
    table = _table()
    return [table[c][lang] if isinstance(c, str) and c in table else str(c) for c in columns]


def relabel(values: pd.Series, lang: str) -> pd.Series:
    """Replace label keys in a Series by their text; other values are kept."""
    table = _table()
    return values.map(lambda v: table[v][lang] if isinstance(v, str) and v in table else v)


def glossary() -> pd.DataFrame:
    """Every label as a row: key, zh, en (and a note where given)."""
    rows = [
        {"key": k, "zh": v["zh"], "en": v["en"], "note": v.get("note", "")}
        for k, v in _table().items()
    ]
    return pd.DataFrame(rows, columns=["key", "zh", "en", "note"])
