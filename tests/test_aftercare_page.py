"""The aftercare text links to a public page listing every restriction, in the client's language, with no client data."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from glowline.catalog.protocols import load_catalog
from glowline.config import ROOT
from glowline.messages.links import PublicLinks
from glowline.store.models import MessageKind, OutboxMessage
from tests.helpers import make_plan

CATALOG = load_catalog(ROOT / "protocols.json", ROOT / "schemas" / "protocols.schema.json")
CASES = [(protocol.id, locale) for protocol in CATALOG for locale in ("en", "es")]
LINK = re.compile(r"https?://\S+/a/[0-9a-f]{8}/(?:en|es)")


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.mark.parametrize(("protocol_id", "locale"), CASES)
def test_the_page_lists_every_restriction_of_its_protocol_in_the_language(client, runtime, protocol_id, locale):
    protocol = CATALOG.get(protocol_id)
    response = client.get(_path(runtime.links.aftercare(protocol_id, locale)))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{locale}">' in page
    for restriction in protocol.restrictions:
        assert restriction.text_in(locale).replace("'", "&#39;") in page
    others = {r.text_in(locale) for p in CATALOG if p.id != protocol_id for r in p.restrictions}
    assert not {text for text in others - {r.text_in(locale) for r in protocol.restrictions} if text in page}
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_address_names_no_treatment_and_cannot_be_guessed_without_the_secret():
    links = PublicLinks(base_url="https://glow.example.com", secret="one-secret-of-this-clinic")
    addresses = {links.aftercare(p.id, "en") for p in CATALOG}
    assert len(addresses) == len(CATALOG.protocols)  # one page per protocol
    for protocol in CATALOG:
        address = links.aftercare(protocol.id, "en")
        assert address == links.aftercare(protocol.id, "en")  # stable: a text sent last week still works
        assert not {word for word in re.split(r"[-_ ]", protocol.id + " " + protocol.name.lower()) if
                    len(word) > 3 and word in address.lower()}
        other = PublicLinks(base_url="https://glow.example.com", secret="another-secret")
        assert other.aftercare(protocol.id, "en") != address


def test_a_real_aftercare_text_links_to_its_page_which_holds_no_client_data(db, runtime, clinic, clock, client):
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550177", protocol="pigmentation")
    aftercare = db.scalars(select(OutboxMessage).where(OutboxMessage.plan_id == plan.id,
                                                       OutboxMessage.kind == MessageKind.AFTERCARE)).first()
    # The English client's link; the same page in Spanish is the one a Spanish client's text carries.
    url = LINK.search(aftercare.body).group(0)
    assert url.startswith(runtime.config.public_base_url) and url.endswith("/en")
    for locale in ("en", "es"):
        page = client.get(_path(url[:-2] + locale)).get_data(as_text=True)
        assert CATALOG.get("pigmentation").restrictions[0].text_in(locale).replace("'", "&#39;") in page
        for private in ("2125550177", "555-0177", clinic.name):
            assert private not in page


@pytest.mark.parametrize("path", ["/a/00000000/en", "/a/nothing/es", "/a/" + "f" * 8 + "/fr", "/a/x"])
def test_an_unknown_page_is_a_clear_404_never_a_5xx(client, path):
    response = client.get(path)
    assert response.status_code == 404
