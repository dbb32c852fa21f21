"""Client photos in a real browser: the client page shows the thumbnail; the full image needs a staff login."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from glowline.clinics.service import add_staff_user
from glowline.store.photo_rows import Photo
from tests.helpers import PASSWORD, photo_bytes, send_mms
from tests.test_browser import CHROMIUM, server  # noqa: F401 - the server fixture
from tests.worker_helpers import work

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (scripts/test installs it)"),
]


def test_client_page_shows_the_thumbnail_and_the_full_image_needs_login(server, app, db, clinic, runtime,  # noqa: F811
                                                                        fake_twilio):
    from playwright.sync_api import expect, sync_playwright

    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    send_mms(app.test_client(), fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")])
    work(runtime)
    photo = db.scalar(select(Photo))
    full = f"{server}/staff/photos/{photo.public_id}"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(10_000)
        assert page.goto(full).status == 404  # before logging in: nothing, not even a login page

        page.goto(f"{server}/staff/login")
        page.get_by_label("Username").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server}/staff/")
        page.goto(f"{server}/staff/clients/{photo.client_id}")
        thumbnail = page.locator(f'li[data-photo="{photo.public_id}"] img')
        expect(thumbnail).to_be_visible()
        assert page.evaluate("img => img.complete && img.naturalWidth", thumbnail.element_handle()) == 320

        answer = page.goto(full)
        assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["cache-control"] == "private, no-store"
        browser.close()
