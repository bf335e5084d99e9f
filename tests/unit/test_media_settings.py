"""`BIDSERVER_MEDIA_BUCKET` and `BIDSERVER_MEDIA_URL`: checked at start-up, naming the setting."""

from __future__ import annotations

import pytest

from bidserver.config import SettingError, load_settings
from bidserver.media.s3 import S3MediaStore
from bidserver.media.store import LocalMediaStore
from bidserver.mediastores import media_store


def test_unset_keeps_photos_in_the_data_dir() -> None:
    settings = load_settings({"BIDSERVER_DATA_DIR": "/tmp/x"})
    assert (settings.media_bucket, settings.media_url) == (None, None)
    assert isinstance(media_store(settings), LocalMediaStore)


def test_a_bucket_chooses_s3_and_the_cdn_base_loses_its_slash() -> None:
    settings = load_settings(
        {
            "BIDSERVER_MEDIA_BUCKET": "bidserver-prod-photos-1",
            "BIDSERVER_MEDIA_URL": "https://cdn.example.com/",
        }
    )
    assert settings.media_url == "https://cdn.example.com"
    store = media_store(settings)
    assert isinstance(store, S3MediaStore)
    assert store.bucket == "bidserver-prod-photos-1"
    assert store.url("a.jpg") == "https://cdn.example.com/a.jpg"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"BIDSERVER_MEDIA_BUCKET": "Photos"}, "BIDSERVER_MEDIA_BUCKET"),
        ({"BIDSERVER_MEDIA_BUCKET": "ab"}, "BIDSERVER_MEDIA_BUCKET"),
        ({"BIDSERVER_MEDIA_BUCKET": "s3://photos"}, "BIDSERVER_MEDIA_BUCKET"),
        ({"BIDSERVER_MEDIA_URL": "https://cdn.example.com"}, "BIDSERVER_MEDIA_URL"),
        (
            {"BIDSERVER_MEDIA_BUCKET": "photos", "BIDSERVER_MEDIA_URL": "cdn.example.com"},
            "BIDSERVER_MEDIA_URL",
        ),
        (
            {"BIDSERVER_MEDIA_BUCKET": "photos", "BIDSERVER_MEDIA_URL": "https://"},
            "BIDSERVER_MEDIA_URL",
        ),
        (
            {"BIDSERVER_MEDIA_BUCKET": "photos", "BIDSERVER_MEDIA_URL": "https://c.example/?a=1"},
            "BIDSERVER_MEDIA_URL",
        ),
        (
            {"BIDSERVER_MEDIA_BUCKET": "photos", "BIDSERVER_MEDIA_URL": "https://[::1"},
            "BIDSERVER_MEDIA_URL",
        ),
    ],
)
def test_an_unusable_value_stops_start_up_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingError) as caught:
        load_settings(env)
    assert caught.value.name == named
    assert str(caught.value).startswith(named + ": ")
