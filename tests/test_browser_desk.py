"""The front desk in a real browser: find a client, read and answer a text, move a session, today's list,
every staff page on a 390 px phone, and axe-core's accessibility check over every staff page."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from glowline.clinics.service import add_staff_user
from glowline.store.models import Intake, SessionStatus
from tests.helpers import PASSWORD, make_intake, make_plan
from tests.browser import MARKS, log_in, new_page, shot
from tests.helpers import confirmation_already_sent, person
from tests.worker_helpers import work

AXE = Path(__file__).parent / ".axe" / "node_modules" / "axe-core" / "axe.min.js"

pytestmark = MARKS


def _page(browser, width: int = 1366):
    # bypass_csp: axe is injected as a script the app's own Content-Security-Policy rightly refuses.
    return new_page(browser, width=width, bypass_csp=True)


@pytest.fixture
def desk(db, clinic, runtime, clock):
    """A clinic day: Jessica with a plan starting tomorrow and a question in the inbox, Maria confirmed."""
    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550123", days=1)
    jess = person(db, clinic, "+12125550123", "Jessica", text="Can I move to Friday instead?",
                  at=clock.now() - timedelta(minutes=20))
    maria_plan = make_plan(db, runtime, clinic, clock, phone="+13105559876", days=1)
    person(db, clinic, "+13105559876", "Maria")
    maria_plan.sessions[0].status = SessionStatus.CONFIRMED
    db.commit()
    waiting = make_intake(db, clinic, phone="+12125550177", flags=["recent_sunburn"])
    return {"plan": plan, "jess": jess, "maria_plan": maria_plan, "intake": waiting,
            "tomorrow": (clock.now() + timedelta(days=1)).astimezone(_zone(clinic)).date()}


def _zone(clinic):
    from zoneinfo import ZoneInfo

    return ZoneInfo(clinic.timezone)


def test_find_read_reply_and_see_it_sent(server, browser, desk, runtime):
    from playwright.sync_api import expect

    page = _page(browser)
    log_in(page, server)
    expect(page.locator("#nav-inbox .count-badge")).to_have_text("1")

    page.get_by_role("link", name="Clients").click()
    page.get_by_label("Find a client by first name or phone").fill("555 0123")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Jessica").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jessica")
    expect(page.locator("#conversation")).to_contain_text("Can I move to Friday instead?")
    shot(page, "desk-client")

    page.get_by_role("link", name="Inbox").click()
    item = page.locator(".inbox-item").filter(has_text="Can I move to Friday instead?")
    expect(item).to_contain_text("Jessica")
    shot(page, "desk-inbox")
    item.get_by_text("Reply", exact=True).click()
    item.get_by_label("Reply to Jessica (marks this done)").fill("Yes, Friday at 3pm works. See you then!")
    item.get_by_role("button", name="Send text").click()
    expect(page.get_by_role("status").first).to_contain_text("Reply queued")
    expect(page.locator("#nav-inbox .count-badge")).to_have_count(0)

    page.goto(f"{server}/staff/clients/{desk['jess'].id}")
    bubble = page.locator(".bubble.out").filter(has_text="Yes, Friday at 3pm works.")
    expect(bubble).to_contain_text("queued")
    expect(bubble).to_contain_text("by staff ana")
    work(runtime)
    page.reload()
    expect(page.locator(".bubble.out").filter(has_text="Yes, Friday at 3pm works.")).to_contain_text("sent")


def test_move_a_session_and_see_the_clients_text(server, browser, desk, db, runtime, fake_twilio):
    from playwright.sync_api import expect

    page = _page(browser)
    log_in(page, server)
    plan = desk["plan"]
    confirmation_already_sent(db, plan)
    page.goto(f"{server}/staff/plans/{plan.id}")
    page.locator('tr[data-session="1"]').get_by_role("link", name="Move with a preview session 1").click()
    page.get_by_label("New date", exact=True).fill("2026-12-04")
    page.get_by_label("New time", exact=True).fill("15:00")
    page.get_by_role("button", name="Review the move").click()
    expect(page.locator("#client-text")).to_contain_text("your appointment has moved to Fri Dec 4 at 3:00 PM")
    shot(page, "desk-move")
    page.get_by_role("button", name="Yes, move it").click()
    expect(page.get_by_role("status").first).to_contain_text("Session 1 moved")
    expect(page.locator(".audit")).to_contain_text("moved session 1")
    work(runtime)
    assert sum("moved to Fri Dec 4 at 3:00 PM" in r.form["Body"] for r in fake_twilio.sent()) == 1
    page.goto(f"{server}/staff/clients/{desk['jess'].id}")
    expect(page.locator(".bubble.out").filter(has_text="moved to Fri Dec 4 at 3:00 PM")).to_contain_text("sent")


def test_today_filtered_to_not_confirmed(server, browser, desk):
    from playwright.sync_api import expect

    page = _page(browser)
    log_in(page, server)
    page.get_by_role("link", name="Today").click()
    page.get_by_label("Day").fill(desk["tomorrow"].isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table.day tbody tr")).to_have_count(2)
    page.get_by_label("Only not confirmed").check()
    page.get_by_role("button", name="Show").click()
    rows = page.locator("table.day tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Jessica")
    expect(rows).to_contain_text("waiting")
    expect(rows).to_contain_text(f"1 of {desk['plan'].session_count}")


def _staff_pages(desk, db) -> list[str]:
    plan, intake = desk["plan"], desk["intake"]
    assert db.scalar(select(Intake).where(Intake.id == intake.id)) is not None
    return ["/staff/", "/staff/today", f"/staff/today?date={desk['tomorrow'].isoformat()}", "/staff/inbox",
            "/staff/clients", "/staff/clients?q=jess", f"/staff/clients/{desk['jess'].id}", "/staff/queue",
            f"/staff/plans/{plan.id}", f"/staff/plans/{plan.id}/sessions/1/reschedule",
            f"/staff/plans/{plan.id}/sessions/2/cancel", f"/staff/plans/{plan.id}/cancel",
            f"/staff/intakes/{intake.id}/plan", "/staff/results", "/staff/settings/sending"]


def test_every_staff_page_fits_a_390px_phone(server, browser, desk, db):
    page = _page(browser, width=390)
    log_in(page, server)
    wide = []
    for path in _staff_pages(desk, db):
        page.goto(f"{server}{path}")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        shot(page, "phone" + path.replace("/", "-").replace("?", "-"))
        if widths[0] != widths[1]:
            wide.append(f"{path} scrolls sideways at 390 px: {widths}")
    assert wide == []


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (scripts/test installs it with npm)")
@pytest.mark.parametrize("width", [1366, 390])
def test_axe_finds_no_serious_or_critical_violations(server, browser, desk, db, width):
    page = _page(browser, width=width)
    page.goto(f"{server}/staff/login")
    problems = _axe(page, "/staff/login")
    log_in(page, server)
    for path in _staff_pages(desk, db):
        page.goto(f"{server}{path}")
        if width == 1366:
            shot(page, "desk" + path.replace("/", "-").replace("?", "-"))
        problems += _axe(page, path)
    assert problems == []


def _axe(page, path: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
    return [f"{path}: {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in json.loads(result)["violations"] if v["impact"] in ("serious", "critical")]
