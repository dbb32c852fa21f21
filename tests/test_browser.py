"""A person in a real browser: log in, start a plan from an intake, see its timeline, watch the queue, retry."""

from __future__ import annotations

import pytest

from glowline.clinics.service import add_staff_user
from tests.browser import MARKS, new_page, shot
from tests.helpers import PASSWORD, make_intake
from tests.twilio_server import Scripted
from tests.worker_helpers import work

pytestmark = MARKS


@pytest.fixture
def page(browser):
    """One page at a laptop's width."""
    return new_page(browser, width=1280)


def test_staff_start_a_plan_watch_the_queue_and_retry(server, page, db, clinic, runtime, fake_twilio):
    from playwright.sync_api import expect

    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    intake = make_intake(db, clinic, concern="fine lines and wrinkles", flags=["recent_sunburn"])

    page.goto(f"{server}/staff/")
    expect(page.get_by_role("heading", name="Staff log in")).to_be_visible()
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Intakes waiting for a plan")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=f"#{intake.id}")
    expect(row).to_contain_text("recent sunburn")
    row.get_by_role("link", name="Start plan").click()

    expect(page.get_by_label("Protocol")).to_have_value("skin-rejuvenation")
    page.get_by_label("First session date").fill("2026-12-03")
    page.get_by_label("Time").fill("10:00")
    page.locator("#sessions").fill("3")
    # The live preview draws the timeline before anything is saved.
    expect(page.locator("#preview svg .lane")).to_have_count(3)
    expect(page.locator("#preview-sessions li").first).to_have_text("Thu Dec 3 2026, 10:00 AM")
    shot(page, "plan-form")
    page.get_by_role("button", name="Start plan").click()

    expect(page.get_by_role("heading", name="Plan 1")).to_be_visible()
    expect(page.locator("svg.timeline .lane")).to_have_count(3)
    expect(page.locator("svg.timeline .aftercare-window")).to_have_count(3)
    expect(page.locator(".audit")).to_contain_text("staff ana started the plan (3 sessions")
    shot(page, "plan")

    # The first send fails (Twilio 21606: the clinic's number cannot text until it is fixed); the queue
    # page shows it by itself. A permanent error such as 21211 would offer no retry at all.
    page.get_by_role("link", name="Queue").click()
    expect(page.locator('dd[data-status="queued"]')).to_have_text("1")
    fake_twilio.script("Messages", Scripted(400, 21606, "The 'From' number is not a valid, SMS-capable phone number."))
    work(runtime)
    failed = page.locator("#failed tbody tr").filter(has_text="plan confirmation")
    expect(failed).to_contain_text("21606")
    expect(page.locator('dd[data-status="failed"]')).to_have_text("1")
    shot(page, "queue-failed")

    failed.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("will be sent again now")
    expect(page.locator('dd[data-status="queued"]')).to_have_text("1")
    work(runtime)
    # No reload here: the page refreshes its own numbers after the send.
    expect(page.locator('dd[data-status="sent"]')).to_have_text("1")
    expect(page.locator("#done-today")).to_contain_text("plan confirmation")
    expect(page.locator('dd[data-status="failed"]')).to_have_text("0")
    assert len(fake_twilio.sent()) == 1
    shot(page, "queue")

    page.goto(f"{server}/staff/plans/1")
    expect(page.locator(".audit")).to_contain_text("retried message")
