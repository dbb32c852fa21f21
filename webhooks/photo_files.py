"""A photo's bytes as an HTTP answer, for the staff pages and the API alike: private, never cached, 404 when not theirs."""

from __future__ import annotations

from flask import Response, abort

from glowline.exceptions import NotFound
from glowline.photos.views import open_photo
from webhooks.context import db, runtime


def photo_response(clinic_id: int, public_id: str, actor: str, *, thumbnail: bool) -> Response:
    """The photo's bytes for a caller already known to be of ``clinic_id``, or 404."""
    try:
        image = open_photo(db(), runtime(), clinic_id=clinic_id, public_id=public_id, actor=actor,
                           thumbnail=thumbnail, now=runtime().clock.now())
    except NotFound:
        abort(404)
    response = Response(image.data, mimetype=image.content_type)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
