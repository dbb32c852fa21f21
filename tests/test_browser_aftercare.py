"""A client on a phone opens the aftercare link from their text: the whole list, readable at 390 px, no script needed."""

from __future__ import annotations

import pytest

from tests.browser import MARKS, new_page

pytestmark = MARKS


@pytest.fixture
def phone(browser):
    """An iPhone-sized screen with scripts off: the page must not need them."""
    return new_page(browser, width=390, height=844, device_scale_factor=3, is_mobile=True, has_touch=True,
                    java_script_enabled=False)


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_aftercare_page_reads_whole_on_a_phone(server, phone, runtime, locale):
    protocol = runtime.catalog.get("skin-rejuvenation")
    url = runtime.links.aftercare(protocol.id, locale).replace(runtime.config.public_base_url, server)
    violations: list[str] = []
    phone.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    phone.goto(url)
    items = phone.locator("ul.avoid li")
    assert items.all_inner_texts() == [r.text_in(locale) for r in protocol.restrictions]
    # Nothing wider than the screen: no sideways scrolling to read a line.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # The stylesheet loaded under the strict CSP: large type, not the browser's small default.
    assert phone.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 18
    assert not violations
