"""Client photos in a real browser: the client page shows the thumbnail; the full image needs a staff login."""

from __future__ import annotations

from sqlalchemy import select

from glowline.clinics.service import add_staff_user
from glowline.store.photo_rows import Photo
from tests.helpers import PASSWORD, photo_bytes, send_mms
from tests.browser import MARKS, log_in, new_page
from tests.worker_helpers import work

pytestmark = MARKS


def test_client_page_shows_the_thumbnail_and_the_full_image_needs_login(server, browser, app, db, clinic, runtime,
                                                                        fake_twilio):
    from playwright.sync_api import expect

    add_staff_user(db, clinic, "ana", PASSWORD)
    db.commit()
    send_mms(app.test_client(), fake_twilio, [(photo_bytes("JPEG"), "image/jpeg")])
    work(runtime)
    photo = db.scalar(select(Photo))
    full = f"{server}/staff/photos/{photo.public_id}"

    page = new_page(browser, width=1280)
    assert page.goto(full).status == 404  # before logging in: nothing, not even a login page

    log_in(page, server)
    page.goto(f"{server}/staff/clients/{photo.client_id}")
    thumbnail = page.locator(f'li[data-photo="{photo.public_id}"] img')
    expect(thumbnail).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth", thumbnail.element_handle()) == 320

    answer = page.goto(full)
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "private, no-store"
