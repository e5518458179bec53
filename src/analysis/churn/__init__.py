"""Churn risk (客户流失风险): who is likely to stop buying, how sure we are, and why.

One module per step, each importable on its own; this package re-exports their public API:

- :mod:`~analysis.churn.history`: the transaction lines sorted once, summed per customer at any
  cutoff;
- :mod:`~analysis.churn.features`: labels and leakage-free features as of a cutoff, and the
  cleaning of a ready customer table;
- :mod:`~analysis.churn.bgnbd`: the BG/NBD purchase model (Fader, Hardie and Lee 2005), a baseline;
- :mod:`~analysis.churn.models`: the candidate classifiers, the choice by cross-validation,
  calibration, and the metrics, gains and calibration tables;
- :mod:`~analysis.churn.backtest`: the study — a backtest on transactions or a split of a customer
  table — returning a :class:`ChurnResult` with the customers scored now;
- :mod:`~analysis.churn.explain`: reasons in words, the risk list, churn by ABC class.

The page's tables, verdict and charts are in :mod:`analysis.viz.churn`; its summary record in
:mod:`analysis.report.records`.
"""

from analysis.churn.backtest import (
    CHOICE_SAMPLE,
    FEATURE_TABLES,
    SCORES,
    TRAIN_SAMPLE,
    ChurnResult,
    ScoredCustomers,
    backtest,
    feature_tables,
    from_customer_table,
    table_study,
)
from analysis.churn.bgnbd import BetaGeoModel, bgnbd_churn_probability
from analysis.churn.explain import (
    RISK_COLUMNS,
    abc_of,
    churn_by_class,
    explain,
    risk_list,
    risk_scores,
    sample_note,
)
from analysis.churn.features import churn_features, churn_labels, clean_customer_table
from analysis.churn.history import TransactionHistory
from analysis.churn.models import (
    METRICS,
    ChurnModel,
    calibration_table,
    candidate_models,
    fit_churn_model,
    gains_table,
    score_metrics,
)

__all__ = [
    "CHOICE_SAMPLE",
    "FEATURE_TABLES",
    "METRICS",
    "RISK_COLUMNS",
    "SCORES",
    "TRAIN_SAMPLE",
    "BetaGeoModel",
    "ChurnModel",
    "ChurnResult",
    "ScoredCustomers",
    "TransactionHistory",
    "abc_of",
    "backtest",
    "bgnbd_churn_probability",
    "calibration_table",
    "candidate_models",
    "churn_by_class",
    "churn_features",
    "churn_labels",
    "clean_customer_table",
    "explain",
    "feature_tables",
    "fit_churn_model",
    "from_customer_table",
    "gains_table",
    "risk_list",
    "risk_scores",
    "sample_note",
    "score_metrics",
    "table_study",
]
