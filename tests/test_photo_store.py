"""The photo store behind one interface: the database by default, an S3-compatible bucket (moto's server) when set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from glowline.exceptions import PhotoStoreError
from glowline.photos.retention import expire_photos
from glowline.photos.storage import DatabaseStore, S3Store
from glowline.runtime import Runtime
from glowline.store.photo_rows import Photo, PhotoBlob, PhotoStatus
from tests.helpers import make_client, make_plan, photo_bytes, send_mms
from tests.worker_helpers import work


@pytest.fixture(params=["database", "s3"])
def store_runtime(request, runtime, clock, _data_files):
    """The test's runtime with the database store, or a runtime on the same database whose store is the bucket."""
    if request.param == "database":
        yield runtime
        return
    from workers import context

    rt = Runtime(request.getfixturevalue("s3_config"), clock=clock)
    for name, value in _data_files.items():
        setattr(rt, name, value)
    context.bind(rt)
    yield rt
    context.bind(runtime)
    rt.close()


def test_the_store_kind_follows_the_config(store_runtime, request):
    expected = S3Store if store_runtime.config.photo_s3_bucket else DatabaseStore
    assert isinstance(store_runtime.photo_store, expected)


def test_put_get_delete(store_runtime):
    store = store_runtime.photo_store
    store.put("photos/a", b"\xff\xd8 bytes", "image/jpeg")
    store.put("photos/a", b"\xff\xd8 newer", "image/jpeg")
    assert store.get("photos/a") == (b"\xff\xd8 newer", "image/jpeg")
    store.delete("photos/a")
    store.delete("photos/a")  # twice is safe
    with pytest.raises(PhotoStoreError):
        store.get("photos/a")


def test_an_mms_photo_lands_in_the_configured_store(store_runtime, app, db, clinic, fake_twilio):
    from webhooks import create_app

    web = create_app({"RUNTIME": store_runtime, "TESTING": True}).test_client()
    send_mms(web, fake_twilio, [(photo_bytes("WEBP"), "image/webp")])
    work(store_runtime)
    db.expire_all()
    photo = db.scalar(select(Photo))
    assert photo.status is PhotoStatus.STORED and photo.content_type == "image/webp"
    data, content_type = store_runtime.photo_store.get(photo.image_key)
    assert content_type == "image/webp" and data[:4] == b"RIFF"
    in_database = db.scalar(select(PhotoBlob.key).where(PhotoBlob.key == photo.image_key))
    assert (in_database is None) == bool(store_runtime.config.photo_s3_bucket)  # never both, never a local folder


def test_photos_expire_a_year_after_the_last_plan_and_never_during_one(runtime, db, clinic, clock):
    first = make_client(db, phone="+12125550131")
    second = make_client(db, phone="+12125550132")
    plan = make_plan(db, runtime, clinic, clock, phone="+12125550133")
    rows = []
    for person_id in (first.id, second.id, plan.client_id):
        photo = Photo(public_id=f"{person_id:032x}", clinic_id=clinic.id, client_id=person_id, message_sid="MM" + "0" * 32,
                      media_sid=f"ME{person_id:032x}", status=PhotoStatus.STORED, received_at=clock.now())
        db.add(photo)
        rows.append(photo)
    db.commit()
    for photo in rows:
        runtime.photo_store.put(photo.image_key, b"img", "image/jpeg")
        runtime.photo_store.put(photo.thumb_key, b"thumb", "image/jpeg")
    clinic.photo_retention_days = 365
    db.commit()

    assert expire_photos(db, runtime, now=clock.now() + timedelta(days=364)) == 0
    assert expire_photos(db, runtime, now=clock.now() + timedelta(days=366)) == 2  # not the client with an active plan
    db.expire_all()
    statuses = {p.client_id: p.status for p in db.scalars(select(Photo))}
    assert statuses == {first.id: PhotoStatus.EXPIRED, second.id: PhotoStatus.EXPIRED, plan.client_id: PhotoStatus.STORED}
    with pytest.raises(PhotoStoreError):
        runtime.photo_store.get(rows[0].image_key)
    assert runtime.photo_store.get(rows[2].image_key) == (b"img", "image/jpeg")
