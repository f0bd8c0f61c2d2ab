"""The browser's own request for /favicon.ico (every admin page makes one) is answered with an icon.

It carries no X-AppID, so before WhiteNoise served it from WHITENOISE_ROOT it got 400 app_id_missing and a
warning line in the log on every admin page.
"""

import logging

from django.test import Client


def test_favicon_is_an_icon_with_no_warning(caplog):
    with caplog.at_level(logging.INFO):
        response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = response.getvalue()
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
