"""CDNOW: every value-forecast candidate beside lifetimes' BG/NBD + Gamma-Gamma, on the same split, in one run.

    .venv/bin/python bench/value_cdnow.py            # prints the table of docs/value-forecast.md

Calibration: the lines dated 1997-01-01 to 1997-09-30; holdout: the next 273 days (1997-10-01 to
1998-06-30).  The project's candidates run here (``analysis.value.forecast.backtest``); lifetimes
runs in the bench environment ``bench/.venv`` (``bench/requirements.txt``; it is created by
``make bench``) as a subprocess of this script, on the same lines, and its predictions are scored
by the same metric code on the same customers.

lifetimes is fed as its users feed it: ``summary_data_from_transaction_data`` on the calibration
lines with a positive amount (the project's purchase days; CDNOW has 80 zero-amount lines),
``observation_period_end`` = the last calibration day, days converted to weeks;
``BetaGeoFitter`` and ``GammaGammaFitter`` without penalty; expected sales =
``conditional_expected_number_of_purchases_up_to_time(273 / 7)`` ×
``conditional_expected_average_profit``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CDNOW = ROOT / "data" / "real" / "cdnow" / "transactions.csv"
PEER_PYTHON = HERE / ".venv" / "bin" / "python"
START, CUTOFF, HORIZON = "1997-01-01", "1997-10-01", 273


def lifetimes_worker(out: Path) -> None:
    """Runs in bench/.venv: fit lifetimes on the calibration lines, write each customer's expected sales."""
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    tx = pd.read_csv(CDNOW, dtype={"customer_id": "str"}, parse_dates=["date"])
    cal = tx[(tx["date"] >= START) & (tx["date"] < CUTOFF) & (tx["amount"] > 0)]
    t0 = time.perf_counter()
    last_day = pd.Timestamp(CUTOFF) - pd.Timedelta(days=1)
    s = summary_data_from_transaction_data(
        cal,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=last_day,
        freq="D",
    )
    s[["recency", "T"]] = s[["recency", "T"]] / 7.0
    bg = BetaGeoFitter(penalizer_coef=0.0).fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    gg = GammaGammaFitter(penalizer_coef=0.0).fit(rep["frequency"], rep["monetary_value"])
    purchases = bg.conditional_expected_number_of_purchases_up_to_time(
        HORIZON / 7.0, s["frequency"], s["recency"], s["T"]
    )
    spend = gg.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    seconds = time.perf_counter() - t0
    pd.DataFrame({"customer_id": s.index, "lifetimes": (purchases * spend).to_numpy()}).to_csv(
        out, index=False
    )
    import lifetimes

    print(
        json.dumps(
            {
                "seconds": seconds,
                "version": lifetimes.__version__,
                "bgnbd": {k: float(v) for k, v in bg.params_.items()},
                "gamma_gamma": {k: float(v) for k, v in gg.params_.items()},
            }
        )
    )


def main() -> None:
    import numpy as np
    import pandas as pd

    from analysis.value import forecast as vf

    tx = pd.read_csv(CDNOW, dtype={"customer_id": "str"}, parse_dates=["date"])
    assert str(tx["date"].min().date()) == START, (
        "CDNOW starts on 1997-01-01: the calibration is all lines before the cutoff"
    )
    t0 = time.perf_counter()
    bt = vf.backtest(tx, CUTOFF, horizon_days=HORIZON, active_days=None)
    ours_seconds = time.perf_counter() - t0
    preds = bt.predictions
    peer = {}
    if PEER_PYTHON.exists():
        out = Path("/tmp") / f"cdnow_lifetimes_{int(time.time())}.csv"
        run = subprocess.run(
            [str(PEER_PYTHON), __file__, "--lifetimes-worker", str(out)],
            capture_output=True,
            text=True,
        )
        if run.returncode:
            print(f"lifetimes failed in {PEER_PYTHON}:\n{run.stderr}", file=sys.stderr)
        else:
            peer = json.loads(run.stdout.strip().splitlines()[-1])
            lt = pd.read_csv(out, dtype={"customer_id": "str"})
            out.unlink()
            preds = preds.merge(lt, on="customer_id", how="left")
            assert preds["lifetimes"].notna().all(), "lifetimes scored a different set of customers"
    else:
        print(
            f"no {PEER_PYTHON}: create it with `python3 -m venv bench/.venv && "
            "bench/.venv/bin/pip install -r bench/requirements.txt`",
            file=sys.stderr,
        )
    models = [c for c in (*vf.CANDIDATES, "lifetimes") if c in preds.columns]
    metrics = pd.DataFrame({m: vf.score_metrics(preds["actual"], preds[m]) for m in models}).T
    chosen = bt.chosen
    print(
        f"CDNOW: {len(preds):,} customers, calibration {START} – 1997-09-30, holdout {CUTOFF} + {HORIZON} days; "
        f"holdout sales {preds['actual'].sum():,.0f}"
    )
    print(
        f"chosen: {chosen} (beats the run rate: {bt.beats_baseline}); gradient boosting trained on a "
        f"{bt.train_days}-day window; project backtest {ours_seconds:.1f} s, lifetimes fit+predict "
        f"{peer.get('seconds', float('nan')):.1f} s (lifetimes {peer.get('version', '–')})\n"
    )
    print("| model | MAE | RMSE | Spearman | top-decile capture | total bias |")
    print("|---|---:|---:|---:|---:|---:|")
    for m, row in metrics.iterrows():
        name = f"**{m}** (chosen)" if m == chosen else m
        print(
            f"| {name} | {row['mae']:.2f} | {row['rmse']:.2f} | {row['spearman']:.3f} | "
            f"{row['top_decile_capture']:.2%} | {row['bias']:+.1%} |"
        )
    if peer:
        print("\nparameters (BG/NBD in weeks):")
        print(f"  project : {json.dumps(bt.params)}")
        print(
            f"  lifetimes: {json.dumps({'bgnbd': peer['bgnbd'], 'gamma_gamma': peer['gamma_gamma']})}"
        )
        c, lt = metrics.loc[chosen], metrics.loc["lifetimes"]
        print(
            f"\nchosen vs lifetimes: MAE {c['mae']:.2f} vs {lt['mae']:.2f} "
            f"({'at least as good' if c['mae'] <= lt['mae'] else 'WORSE'}); top-decile capture "
            f"{c['top_decile_capture']:.2%} vs {lt['top_decile_capture']:.2%} "
            f"({'at least as good' if c['top_decile_capture'] >= lt['top_decile_capture'] else 'WORSE'})"
        )
        diff = np.abs(preds["bgnbd_gg"] - preds["lifetimes"])
        print(
            f"project bgnbd_gg vs lifetimes per customer: max |difference| {diff.max():.4f}, mean {diff.mean():.4f}"
        )


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lifetimes-worker", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args()
    lifetimes_worker(a.lifetimes_worker) if a.lifetimes_worker else main()
