"""Notebooks 05-07 (the worked cases) executed through papermill; their summary.json is checked."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.config import PARAMS_DIR
from analysis.data import io as aio
from analysis.finance import roi
from analysis.report.runner import resolve_params

CASES = ["05_case_value_mining_roi", "06_case_efficiency_roi", "07_credit_limits"]
EXAMPLE = PARAMS_DIR / "example_firm_scenario.yaml"


def _section(name: str) -> dict:
    return aio.read_yaml(EXAMPLE)[name]


def test_example_scenario_matches_the_notebooks():
    # papermill only warns on an unknown parameter: check names and types against the parameters cells
    conf = aio.read_yaml(EXAMPLE)
    params = resolve_params(CASES, conf, source=EXAMPLE.name)
    assert set(params) == set(CASES)
    assert all(set(_section(nb)) <= set(params[nb]) for nb in CASES)


@pytest.fixture(scope="module")
def firm_dir(tmp_path_factory):
    """A bookkeeping firm's data: a few clients with tags and monthly fees (and their transactions)."""
    d = tmp_path_factory.mktemp("firm")
    ids = ["F1", "F2", "F3", "F4"]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "tags": ["关注外账;有财税意识", "", "高新科技", "新开业"],
            "monthly_fee": [1800.0, 900.0, 2200.0, 1000.0],
        }
    )
    days = pd.date_range("2024-01-15", "2025-12-15", freq="MS") + pd.Timedelta(days=14)
    tx = pd.DataFrame(
        [(c, d_, fee) for c, fee in zip(ids, customers["monthly_fee"]) for d_ in days],
        columns=["customer_id", "date", "amount"],
    )
    aio.write_tables({"customers": customers, "transactions": tx}, d)
    return d


@pytest.mark.notebook
def test_05_reproduces_case_1(run_notebook, tiny_tx_dir):
    s = run_notebook("05_case_value_mining_roi", tiny_tx_dir)
    assert s["added_margin"] == 403_200  # (3,000 - 1,800) x 56 x 6
    assert s["value"] == 73_200  # 403,200 - 80,000 - 250,000
    assert s["break_even_clients"] == 46  # 330,000 / 7,200 = 45.8
    assert s["target_met"] is True
    assert (
        s["value_year_2"] == 476_400
    )  # 1,200 x 56 x 12 - 330,000: both costs recur (the project's reading)
    assert s["firm_class"] is None
    assert [x["section"] for x in s["skipped_sections"]] == ["sec_firm_class"]


@pytest.mark.notebook
def test_05_firm_scenario_and_own_class(run_notebook, firm_dir):
    s = run_notebook("05_case_value_mining_roi", firm_dir, **_section("05_case_value_mining_roi"))
    # (2,400 - 1,500) x 22 x 6 x 0.9 = 106,920 of margin - 110,000 = -3,080: no pay-back in the half-year;
    # year two: 900 x 0.9 x 12 x 22 x 0.85 = 181,764 - 110,000 (both costs recur, as in the case) = 71,764
    assert s["added_margin"] == pytest.approx(106_920)
    assert s["value"] == pytest.approx(-3_080)
    assert s["value_year_2"] == pytest.approx(71_764)
    # value-mining tags: F1 (关注外账, 有财税意识) and F3 (高新科技); fee (1,800 + 2,200) / 2
    assert s["firm_class"] == {"clients": 2, "share": 0.5, "avg_fee": 2000.0}
    assert s["skipped_sections"] == []


SECOND_YEAR = (
    "476,400"  # the case's year two: 806,400 of margin - 80,000 - 250,000 (both costs recur)
)


def test_one_second_year_figure_everywhere():
    """Page 05, the workshop, its answer key and the example params quote the same year-two value of case 1."""
    from analysis.config import PROJECT_ROOT

    assert roi.second_year(roi.CASE_1)["class_value"].iloc[1] == 476_400
    places = [
        PROJECT_ROOT / "notebooks" / "05_case_value_mining_roi.ipynb",
        PROJECT_ROOT / "notebooks" / "workshop" / "06_programme_roi.ipynb",
        PROJECT_ROOT / "docs" / "workshop-answer-key.md",
        EXAMPLE,
    ]
    for path in places:
        text = path.read_text(encoding="utf-8")
        assert SECOND_YEAR in text, (
            f"{path.name} does not quote the second-year value {SECOND_YEAR}"
        )
        assert "556,400" not in text and "55.6万" not in text, (
            f"{path.name} quotes the other second-year figure"
        )
    assert "lead_bonus" in _section("05_case_value_mining_roi")["recurring_costs"]


@pytest.mark.notebook
def test_06_reproduces_case_2(run_notebook, tiny_tx_dir):
    s = run_notebook("06_case_efficiency_roi", tiny_tx_dir)
    assert s["value"] == 200_000  # (10 - 8) x 100,000
    assert (s["clients"], s["staff_after"], s["staff_saved"]) == (800, 8, 2)
    assert s["new_business_revenue"] == 0  # the case gives no fee for the 87 + 28 new clients
    # the other reading of the staff (原有9个会计, the supervisor out of both counts) gives the same V
    other = run_notebook(
        "06_case_efficiency_roi", tiny_tx_dir, staff_before=9, heads_outside_count=1
    )
    assert (other["staff_after"], other["value"]) == (7, 200_000)


@pytest.mark.notebook
def test_06_firm_scenario(run_notebook, tiny_tx_dir):
    s = run_notebook("06_case_efficiency_roi", tiny_tx_dir, **_section("06_case_efficiency_roi"))
    # group 1: 150 / 150 = 1 person; group 2: 130/85 + 20/50 = 1.93 -> 2 (rounded up): 3 instead of 5
    assert s["staff_after"] == 3
    assert s["value"] == 180_000  # 2 x 90,000
    assert s["new_business_revenue"] == 192_000  # 20 x 800 x 12


def _ledger(*changes, quarter=""):
    return [
        {
            "quarter": quarter,
            "raised_by": "sales_director",
            "approved_by": "ceo",
            "filed_with": "cfo",
            "changes": c,
        }
        for c in changes
    ]


@pytest.mark.notebook
def test_07_without_receivables_still_checks_the_ledger(run_notebook, tiny_tx_dir):
    s = run_notebook("07_credit_limits", tiny_tx_dir)
    assert s["ledger_balanced"] is True  # C7 +100,000 = B117 20,000 + C3 30,000 + D24 50,000
    assert s["ledger_net"] == 0
    # one adjustment, sales director -> CEO -> CFO, raising C7 (a good payer in the case)
    assert (
        s["ledger_approved"] is True and s["ledger_problems"] == [] and s["ledger_adjustments"] == 1
    )
    assert "overlap" not in s and s["limits_by_grade"] is None
    assert s["skipped_sections"] == [
        {"section": "sec_credit_limits", "needs": "table 'receivables'"}
    ]


@pytest.mark.notebook
def test_07_a_ledger_breaking_the_rules_is_reported(run_notebook, tiny_tx_dir):
    bad = _ledger(
        {"C7": 100_000.0, "B117": -20_000.0, "C3": -30_000.0, "D24": -40_000.0},
        {"D24": 10_000.0, "C3": -10_000.0},
    )
    s = run_notebook("07_credit_limits", tiny_tx_dir, adjustments=bad, lang="en")
    assert s["ledger_balanced"] is False and s["ledger_approved"] is False
    assert s["ledger_net"] == 10_000
    assert (
        s["ledger_problems"][0]
        == f"2 adjustments in {s['quarter']}: limits may be adjusted only once a quarter"
    )
    assert any(
        "D24 is a poor payer: raises go to good payers only" in p for p in s["ledger_problems"]
    )
    assert any("net +10,000" in p for p in s["ledger_problems"])


@pytest.mark.notebook
def test_07_on_the_sample_company(sample_page):
    # page 07 as the sample report ran it (conftest.sample_page: built once, shared)
    s, _ = sample_page("07_credit_limits")
    assert s["ledger_balanced"] is True
    assert s["top_debtors"] == 100 and s["key_customers"] == 100
    assert 0 <= s["overlap"] <= 100
    assert 0 < s["overlap_owed"] <= s["top_debtors_owed"] <= s["receivables_total"]
    # the case's figures are quoted beside ours
    assert (s["case_overlap"], s["case_overlap_owed"], s["case_top_debtors_owed"]) == (
        76,
        3_200_000,
        7_800_000,
    )
    # the credit grade feeds the limits: grade D gets no new limit (《如何做好客户分类管理》)
    assert s["limits_by_grade"]["D"] == 0 and s["limits_by_grade"]["A"] > 0
    assert s["skipped_sections"] == []
