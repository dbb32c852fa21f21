"""GET /a/<code>/<locale>: the public aftercare page a client's aftercare text links to.

No login and no client data: the page is one protocol's list of what to avoid, the same for
every client of it, at an opaque code (glowline.messages.links) that names no treatment.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from glowline.catalog.protocols import Protocol
from glowline.messages import dates
from glowline.messages.catalog import LOCALES, text
from glowline.messages.links import AFTERCARE_PATH, PublicLinks
from webhooks.context import runtime
from webhooks.staff import STAFF_CSP

bp = Blueprint("aftercare", __name__)
# The staff pages' strict CSP (no inline script or style); no referrer, so the code never leaves with a click.
SECURITY_HEADERS = {"Content-Security-Policy": STAFF_CSP, "Referrer-Policy": "no-referrer",
                    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Cache-Control": "private, max-age=3600"}


def _protocol_for(code: str) -> Protocol | None:
    """The protocol whose page has this code, or None."""
    links = PublicLinks.from_config(runtime().config)
    return next((p for p in runtime().catalog if links.aftercare_code(p.id) == code), None)


@bp.get(f"{AFTERCARE_PATH}/<code>/<locale>")
def page(code: str, locale: str):
    """One protocol's full aftercare list in the client's language; 404 for an unknown code or language."""
    protocol = _protocol_for(code)
    if locale not in LOCALES:
        abort(404)
    if protocol is None:
        body = render_template("aftercare.html", locale=locale, title=text("page.aftercare.title", locale),
                               lead=text("page.aftercare.not_found", locale), items=[], questions="")
        return body, 404, SECURITY_HEADERS
    body = render_template(
        "aftercare.html", locale=locale, title=text("page.aftercare.title", locale),
        lead=text("page.aftercare.lead", locale, duration=dates.format_duration(protocol.aftercare_hours, locale)),
        items=[r.text_in(locale) for r in protocol.restrictions], questions=text("page.aftercare.questions", locale))
    return body, 200, SECURITY_HEADERS


