"""The results page in a real browser: Chart.js draws the figures the table shows, on a desk and on a phone."""

from __future__ import annotations

import pytest

from glowline.clinics.service import add_staff_user
from tests.helpers import PASSWORD
from tests.browser import MARKS, log_in, new_page, shot
from tests.test_results import october  # noqa: F401 - the hand-computed fixture

pytestmark = MARKS

PAGE = "/staff/results?since=2026-10-05&until=2026-10-25"


@pytest.mark.parametrize("width", [1366, 390])
def test_plotted_confirmation_rate_for_a_known_week(server, browser, october, db, width):  # noqa: F811
    add_staff_user(db, october["clinic"], "ana", PASSWORD)
    db.commit()
    page = new_page(browser, width=width)
    log_in(page, server)
    page.goto(f"{server}{PAGE}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-trend'))")
    plotted = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('chart-trend'));
        return {labels: chart.data.labels, series: chart.data.datasets.map(d => [d.label, d.data])};
    }""")
    assert plotted["labels"] == ["week of 5 Oct 2026", "week of 12 Oct 2026", "week of 19 Oct 2026"]
    series = dict(plotted["series"])
    # Week of 5 Oct: two of four appointments confirmed; two of four visits missed; the empty week is a gap.
    assert series["Confirmed"] == [50, 100, None]
    assert series["No-shows"] == [50, 0, None]
    failures = page.evaluate("() => Chart.getChart(document.getElementById('chart-failures')).data.datasets[0].data")
    assert failures == [1, 1]
    funnel = page.evaluate("() => Chart.getChart(document.getElementById('chart-funnel')).data.datasets[0].data")
    assert funnel == [5, 4, 4, 3, 1]
    # The table beside the chart says the same, for readers who cannot see it.
    assert page.locator('tr[data-period="2026-10-05"] .confirmation-rate').inner_text() == "50.0%"
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    shot(page, f"results-{width}")
    assert widths[0] == widths[1], f"the results page scrolls sideways at {width} px: {widths}"
