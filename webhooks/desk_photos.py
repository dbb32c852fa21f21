"""Client photos on the staff pages: thumbnails and full images by opaque id, for that clinic's logged-in staff only.

Served through these routes only (never a public or guessable URL) with
``Cache-Control: private, no-store``; anonymous visitors and other clinics' staff get the
same 404 as a photo that does not exist, so a URL says nothing about whether it is real.
"""

from __future__ import annotations

from flask import abort, g

from webhooks.auth import load_staff
from webhooks.photo_files import photo_response
from webhooks.staff import bp


@bp.get("/photos/<public_id>")
def show_photo(public_id: str):
    """The full photo, for a logged-in staff user of its clinic (audited); 404 for anyone else."""
    if not load_staff():
        abort(404)
    return photo_response(g.clinic_id, public_id, g.actor, thumbnail=False)


@bp.get("/photos/<public_id>/thumb")
def photo_thumbnail(public_id: str):
    """The photo's thumbnail, for a logged-in staff user of its clinic; 404 for anyone else."""
    if not load_staff():
        abort(404)
    return photo_response(g.clinic_id, public_id, g.actor, thumbnail=True)
