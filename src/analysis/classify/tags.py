"""Tag management (标签化管理, 《客户分类管理》): approved tags and rules mapping tag combinations to classes.

Staff tag each customer from an approved list; a new tag needs the management
team's approval before anyone may use it.  The list and the class rules live
in a YAML file (default ``analysis/tag_rules.yaml``)::

    approved_tags:
      关注外账: {en: Cares about compliant books}
      ...
    classes:
      - key: value_mining
        zh: 价值挖掘类客户
        en: Value-mining client
        any_of: [关注外账, 有财税意识, ...]   # carries at least min_any of these
        min_any: 1
        all_of: []                          # carries every one of these
        none_of: []                         # carries none of these

A customer's approved tags are matched against the rules in file order; it
gets every class whose rule it meets (``tag_classes``) and the first of them
(``tag_class``).  Tags that are not on the approved list are never used for
matching: they are listed per customer and reported by :func:`unapproved_tags`
so that someone either approves them or corrects the customer record.
Tags are separated by ``;`` (or the full-width ``；``) and trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data import io as aio
from analysis.viz.labels import label

__all__ = [
    "DEFAULT_RULES",
    "TagRules",
    "parse_tag_rules",
    "load_tag_rules",
    "split_tags",
    "unapproved_tags",
    "tag_classes",
    "tag_class_names",
    "tag_class_counts",
]

DEFAULT_RULES = Path(__file__).with_name("tag_rules.yaml")
RULE_KEYS = {"key", "zh", "en", "any_of", "min_any", "all_of", "none_of", "note"}
_SEP = re.compile(r"[;；]")


@dataclass(frozen=True)
class TagRules:
    """Approved tags (tag -> attributes such as ``en``) and the ordered class rules."""

    approved: dict
    classes: tuple
    source: str = "tag rules"

    def class_name(self, key: str, lang: str = "zh") -> str:
        """The name of a tag class in ``lang`` (the key when it has none).

        Parameters
        ----------
        key : str
            The class key.
        lang : str
            Language of labels and text: ``"zh"`` or ``"en"``.

        Returns
        -------
        str
            The name.
        """
        for rule in self.classes:
            if rule["key"] == key:
                return rule.get(lang) or rule.get("zh") or key
        raise KeyError(f"no tag class '{key}' in {self.source}")

    def tag_name(self, tag: str, lang: str = "zh") -> str:
        """The name of an approved tag in ``lang`` (the tag itself otherwise).

        Parameters
        ----------
        tag : str
            The tag.
        lang : str
            Language of labels and text: ``"zh"`` or ``"en"``.

        Returns
        -------
        str
            The name.
        """
        if lang == "zh":
            return tag
        return (self.approved.get(tag) or {}).get(lang) or tag


def _tag_list(rule: dict, field: str, where: str) -> list[str]:
    value = rule.get(field) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{where}: '{field}' must be a list of tags, got {value!r}")
    return [str(t).strip() for t in value]


def parse_tag_rules(conf: dict, *, source: str = "tag rules") -> TagRules:
    """Validate a rules mapping (as read from YAML) and return :class:`TagRules`.

    Parameters
    ----------
    conf : dict
        The rules as read.
    source : str
        Where they come from, for messages.

    Returns
    -------
    TagRules
        The validated rules.

    Raises
    ------
    ValueError
        when a section is missing, a rule has no key or no condition, uses an
        unknown field, repeats a key, or names a tag that is not approved.
    """
    if not isinstance(conf, dict) or "approved_tags" not in conf or "classes" not in conf:
        raise ValueError(f"{source}: expected two sections, 'approved_tags' and 'classes'")
    approved_raw = conf["approved_tags"] or {}
    if isinstance(approved_raw, list):
        approved_raw = {t: {} for t in approved_raw}
    if not isinstance(approved_raw, dict):
        raise ValueError(
            f"{source}: 'approved_tags' must map each tag to its attributes (or be a list)"
        )
    approved = {str(t).strip(): (v or {}) for t, v in approved_raw.items()}
    classes, seen = [], set()
    for i, rule in enumerate(conf["classes"] or [], start=1):
        where = f"{source}, class rule {i}"
        if not isinstance(rule, dict) or not rule.get("key"):
            raise ValueError(f"{where}: every rule needs a 'key'")
        where = f"{source}, class '{rule['key']}'"
        extra = set(rule) - RULE_KEYS
        if extra:
            raise ValueError(
                f"{where}: unknown field(s) {sorted(extra)}; allowed: {sorted(RULE_KEYS)}"
            )
        if rule["key"] in seen:
            raise ValueError(f"{where}: the key is used twice")
        seen.add(rule["key"])
        parsed = {
            "key": str(rule["key"]),
            "zh": rule.get("zh") or str(rule["key"]),
            "en": rule.get("en") or str(rule["key"]),
        }
        for field in ("any_of", "all_of", "none_of"):
            parsed[field] = _tag_list(rule, field, where)
            bad = [t for t in parsed[field] if t not in approved]
            if bad:
                raise ValueError(
                    f"{where}: tag '{bad[0]}' in {field} is not in approved_tags; "
                    f"approve it first or correct the spelling"
                )
        if not parsed["any_of"] and not parsed["all_of"]:
            raise ValueError(f"{where}: give 'any_of' or 'all_of' (the tags that define the class)")
        min_any = int(rule.get("min_any", 1))
        if parsed["any_of"] and not 1 <= min_any <= len(parsed["any_of"]):
            raise ValueError(
                f"{where}: min_any must be between 1 and {len(parsed['any_of'])}, got {min_any}"
            )
        parsed["min_any"] = min_any
        classes.append(parsed)
    return TagRules(approved=approved, classes=tuple(classes), source=source)


def load_tag_rules(path: str | Path | None = None) -> TagRules:
    """Read and validate a rules file; ``None`` or ``""`` means the default ``tag_rules.yaml``.

    Parameters
    ----------
    path : str or Path, optional
        The rules file.

    Returns
    -------
    TagRules
        The validated rules.
    """
    path = Path(path) if path else DEFAULT_RULES
    if not path.exists():
        raise FileNotFoundError(f"tag rules file not found: {path}")
    return parse_tag_rules(aio.read_yaml(path), source=path.name)


def _tag_sets(customers: pd.DataFrame, tags_col: str) -> pd.Series:
    def one(text) -> tuple:
        if text is None or (isinstance(text, float) and np.isnan(text)) or text is pd.NA:
            return ()
        seen = []
        for t in _SEP.split(str(text)):
            t = t.strip()
            if t and t not in seen:
                seen.append(t)
        return tuple(seen)

    return customers[tags_col].astype("object").map(one)


def split_tags(
    customers: pd.DataFrame, *, tags_col: str = "tags", id_col: str = "customer_id"
) -> pd.DataFrame:
    """One row per customer and tag carried (customer_id, tag), in the order written.

    Parameters
    ----------
    customers : DataFrame
        The customers table.
    tags_col : str
        The tags column (tags separated by ; , or spaces).
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        customer_id and tag.
    """
    for col in (id_col, tags_col):
        if col not in customers.columns:
            raise KeyError(f"Required column {col} missing from the customers table")
    sets = _tag_sets(customers, tags_col)
    long = pd.DataFrame({id_col: customers[id_col].to_numpy(), "tag": sets.to_numpy()}).explode(
        "tag"
    )
    return long.dropna(subset=["tag"]).reset_index(drop=True).astype({"tag": "object"})


def unapproved_tags(
    customers: pd.DataFrame,
    rules: TagRules,
    *,
    tags_col: str = "tags",
    id_col: str = "customer_id",
    examples: int = 3,
) -> pd.DataFrame:
    """Tags carried by customers but not on the approved list: tag, customers, example customer ids.

    Parameters
    ----------
    customers : DataFrame
        The customers table.
    rules : TagRules
        The rules (:func:`load_tag_rules`).
    tags_col : str
        The tags column.
    id_col : str
        Customer id column.
    examples : int
        Example ids per tag.

    Returns
    -------
    DataFrame
        tag, customers and examples, most carried first.
    """
    long = split_tags(customers, tags_col=tags_col, id_col=id_col)
    bad = long[~long["tag"].isin(list(rules.approved))]
    if bad.empty:
        return pd.DataFrame(
            {
                "tag": pd.Series(dtype="object"),
                "customers": pd.Series(dtype="int64"),
                "example_customers": pd.Series(dtype="object"),
            }
        )
    g = bad.groupby("tag", sort=False)[id_col]
    out = pd.DataFrame(
        {
            "customers": g.nunique(),
            "example_customers": g.apply(lambda s: ", ".join(map(str, s.unique()[:examples]))),
        }
    )
    return (
        out.rename_axis("tag")
        .reset_index()
        .sort_values(["customers", "tag"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def _matches(carried: set, rule: dict) -> bool:
    if not set(rule["all_of"]) <= carried:
        return False
    if rule["any_of"] and len(carried & set(rule["any_of"])) < rule["min_any"]:
        return False
    return not (carried & set(rule["none_of"]))


def tag_classes(
    customers: pd.DataFrame, rules: TagRules, *, tags_col: str = "tags", id_col: str = "customer_id"
) -> pd.DataFrame:
    """Per customer: ``approved_tags``, ``unapproved_tags`` (both ';'-joined), ``tag_classes``
    (every matching class key, ';'-joined, "" for none) and ``tag_class`` (the first, NaN for none).

    Parameters
    ----------
    customers : DataFrame
        The customers table.
    rules : TagRules
        The rules (:func:`load_tag_rules`).
    tags_col : str
        The tags column.
    id_col : str
        Customer id column.

    Returns
    -------
    DataFrame
        customer_id, approved_tags, unapproved_tags, tag_classes and tag_class.
    """
    sets = _tag_sets(customers, tags_col)
    ok = sets.map(lambda ts: [t for t in ts if t in rules.approved])
    not_ok = sets.map(lambda ts: [t for t in ts if t not in rules.approved])
    hits = ok.map(lambda ts: [r["key"] for r in rules.classes if _matches(set(ts), r)])
    return pd.DataFrame(
        {
            id_col: customers[id_col].to_numpy(),
            "approved_tags": ok.map(";".join).to_numpy(),
            "unapproved_tags": not_ok.map(";".join).to_numpy(),
            "tag_classes": hits.map(";".join).to_numpy(),
            "tag_class": hits.map(lambda h: h[0] if h else np.nan).astype("object").to_numpy(),
        }
    )


def tag_class_names(classes: pd.DataFrame, rules: TagRules, lang: str = "zh") -> pd.DataFrame:
    """:func:`tag_classes` output with the class keys replaced by their names in ``lang``.

    Parameters
    ----------
    classes : DataFrame
        From :func:`tag_classes`.
    rules : TagRules
        The rules (:func:`load_tag_rules`).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        ``classes`` with names instead of keys.
    """

    def names(text) -> str:
        keys = [k for k in str(text or "").split(";") if k]
        return ";".join(rules.class_name(k, lang) for k in keys)

    main = classes["tag_class"].map(
        lambda k: rules.class_name(k, lang) if isinstance(k, str) else k
    )
    return classes.assign(tag_classes=classes["tag_classes"].map(names), tag_class=main)


def tag_class_counts(classes: pd.DataFrame, rules: TagRules, *, lang: str = "zh") -> pd.DataFrame:
    """Customers per class (a customer in two classes counts in both), plus those in none:
    tag_class (key, "" for none), class_name (in ``lang``), customers, customer_share.

    Parameters
    ----------
    classes : DataFrame
        From :func:`tag_classes`.
    rules : TagRules
        The rules (:func:`load_tag_rules`).
    lang : str
        Language of labels and text: ``"zh"`` or ``"en"``.

    Returns
    -------
    DataFrame
        tag_class, class_name, customers and customer_share.
    """
    n = len(classes)
    member = classes["tag_classes"].fillna("").map(lambda s: set(s.split(";")) - {""})
    rows = [
        {
            "tag_class": r["key"],
            "class_name": rules.class_name(r["key"], lang),
            "customers": int(member.map(lambda m, k=r["key"]: k in m).sum()),
        }
        for r in rules.classes
    ]
    rows.append(
        {
            "tag_class": "",
            "class_name": label("cls_tag_class_none", lang),
            "customers": int(member.map(len).eq(0).sum()),
        }
    )
    out = pd.DataFrame(rows)
    return out.assign(customer_share=out["customers"] / n if n else np.nan)
