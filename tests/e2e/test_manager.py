"""A manager filters a decision report and downloads it as CSV, and sees its charts with or
without JavaScript."""

from __future__ import annotations

import pytest

from tests.e2e import journeys
from tests.factories import answered_decision

pytestmark = pytest.mark.e2e


def test_a_manager_filters_a_report_and_downloads_the_csv(browser, practitioner, manager):
    not_shared = answered_decision(practitioner, "do_not_share", submit=True)
    shared = [
        answered_decision(practitioner, outcome, submit=True)
        for outcome in ("can_share", "share_with_consent")
    ]

    seen = browser.run(
        journeys.manager_filters_a_report_and_downloads_the_csv, manager.email, "Do not share"
    )

    assert seen["total_before"] == "3"
    status, summary, focus = seen["date_error"]
    assert status == 400
    assert "There is a problem" in summary
    assert "govuk-error-summary" in focus
    assert seen["total_after"] == "1"
    assert seen["content_type"].startswith("text/csv")
    assert seen["filename"].endswith(".csv")
    assert not_shared.reference in seen["csv"]
    assert all(decision.reference not in seen["csv"] for decision in shared)
    assert seen["exports_heading"]


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_a_manager_sees_the_report_charts_as_images(browser, practitioner, manager, javascript):
    for outcome in ("can_share", "share_with_consent", "do_not_share"):
        answered_decision(practitioner, outcome, submit=True)

    charts = browser.run(
        journeys.manager_sees_the_report_charts, manager.email, javascript=javascript
    )

    assert len(charts) == 6
    for chart in charts:
        assert chart["src"].startswith("/reports/charts/")
        assert chart["alt"].endswith("The numbers are in the table next to it.")
        assert chart["complete"] and chart["width"] > 0 and chart["height"] > 0
