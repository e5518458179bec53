"""The order in which the runner starts the pages (results are listed in page order anyway)."""

from analysis.report import runner


def test_pages_computing_shared_results_start_first_the_rest_as_listed():
    names = [
        "00_data_overview",
        "01_customer_composition",
        "02_product_mix",
        "04_churn_risk",
        "08_value_forecast",
        "09_account_management",
    ]
    assert runner.start_order(names) == [
        "01_customer_composition",
        "08_value_forecast",
        "04_churn_risk",
        "09_account_management",
        "00_data_overview",
        "02_product_mix",
    ]
    # a run of some pages only: those not in the run are not added
    assert runner.start_order(["02_product_mix", "09_account_management"]) == [
        "09_account_management",
        "02_product_mix",
    ]
    # the names are those of real pages (a renamed page would silently lose its place)
    assert set(runner.START_FIRST) <= set(runner.discover_notebooks())
