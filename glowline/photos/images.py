"""What a downloaded file is, judged by its content, and the stored copies made from it (pure: bytes in, bytes out).

Pillow reads JPEG, PNG and WebP; pillow-heif adds the HEIC/HEIF an iPhone sends. Each
accepted photo is decoded and written again: the new file carries no EXIF (a phone's GPS
location above all), HEIC becomes JPEG (every browser shows it), and a small JPEG
thumbnail is made for the staff pages.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024  # Twilio's limit for an MMS's media
THUMB_SIZE = (320, 320)
# The decoder's formats we take, and what each is stored as.
ACCEPTED = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Far beyond any phone camera: a larger image is a decompression bomb, not a photo.
MAX_PIXELS = 50_000_000

_heif_ready = False


class PhotoRefusal(str, enum.Enum):
    """Why a file was not taken as a photo (said to the client kindly, to staff plainly)."""

    NOT_A_PHOTO = "not_a_photo"
    TOO_LARGE = "too_large"


@dataclass(frozen=True)
class Converted:
    """The stored copies of one photo: the image and its thumbnail, both without metadata."""

    image: bytes
    content_type: str
    thumbnail: bytes
    width: int
    height: int


class Refused(Exception):
    """The file is not a photo we take; ``reason`` says why."""

    def __init__(self, reason: PhotoRefusal):
        super().__init__(reason.value)
        self.reason = reason


def _register_heif() -> None:
    global _heif_ready
    if not _heif_ready:
        # Registered on first use, not at import: the web app only decodes in the worker's job.
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_ready = True


def convert(data: bytes) -> Converted:
    """Check ``data`` by its content and make the stored image and thumbnail; raise Refused when it is not taken."""
    if len(data) > MAX_BYTES:
        raise Refused(PhotoRefusal.TOO_LARGE)
    _register_heif()
    try:
        with Image.open(io.BytesIO(data)) as opened:
            source_format = (opened.format or "").upper()
            if source_format not in ACCEPTED or opened.width * opened.height > MAX_PIXELS:
                raise Refused(PhotoRefusal.NOT_A_PHOTO)
            # Turn the pixels the way the phone meant (the EXIF orientation) before the EXIF is dropped.
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise Refused(PhotoRefusal.NOT_A_PHOTO) from None
    stored_format = ACCEPTED[source_format]
    return Converted(image=_encode(image, stored_format), content_type=CONTENT_TYPES[stored_format],
                     thumbnail=_thumbnail(image), width=image.width, height=image.height)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image = image.convert("RGB") if image.mode not in ("RGB", "L") else image
        image.save(out, "JPEG", quality=90)  # no exif= given: Pillow writes none
    elif fmt == "PNG":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=90)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    small = image.convert("RGB")
    small.thumbnail(THUMB_SIZE)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=80)
    return out.getvalue()
