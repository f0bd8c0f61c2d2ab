"""POST /api/v1/me/avatar: what may be an avatar, read from the bytes; what is refused stores nothing."""

import io
from unittest import mock

import pytest
from django.db import OperationalError
from PIL import Image

from api.tests.conftest import TenantClient
from avatars.models import Avatar
from avatars.tests.conftest import PUBLIC_BASE, stored_files, upload
from avatars.tests.images import GPS_IFD, MAKE, image_bytes, jpeg_with_exif, png_bomb, png_claiming
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("tenant_db", "queue_name")


@pytest.fixture
def alice(logged_in) -> TenantClient:
    return logged_in(TENANT_A, "code-alice")


def avatars_of_tenant(app_id: str) -> list[Avatar]:
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
        return list(Avatar.objects.all())


def refused(response, code: str) -> None:  # noqa: ANN001
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(("image_format", "extension"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_a_jpeg_png_or_webp_is_stored_pending_under_the_tenants_prefix(alice, media_root, image_format, extension):
    response = upload(alice, image_bytes(image_format, (64, 48)))
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["state"], body["width"], body["height"]) == ("pending", 64, 48)
    [name] = stored_files(media_root)
    assert name.startswith(f"avatars/{TENANT_A}/") and name.endswith(f".{extension}")
    with Image.open(media_root / name) as stored:
        assert stored.format == image_format
    [avatar] = avatars_of_tenant(TENANT_A)
    assert avatar.public_url == PUBLIC_BASE + name
    # The avatar shown is still the previous one (none) until WeChat says pass.
    me = alice.get("/api/v1/me").json()
    assert (me["avatar_url"], me["avatar_state"]) == ("", "pending")


def test_the_type_comes_from_the_bytes_not_the_name_or_content_type(alice, media_root):
    response = upload(alice, image_bytes("PNG"), name="photo.jpg", content_type="image/jpeg")
    assert response.status_code == 202, response.content
    [name] = stored_files(media_root)
    assert name.endswith(".png")
    assert avatars_of_tenant(TENANT_A)[0].image_format == "PNG"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"hello, I am text\n" * 10, "avatar.png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "avatar.png"),
        (image_bytes("GIF"), "avatar.gif"),
        (image_bytes("BMP"), "avatar.jpg"),
        (image_bytes("JPEG", (300, 300))[:400], "truncated.jpg"),
    ],
    ids=["text", "svg", "gif", "bmp", "truncated-jpeg"],
)
def test_what_is_not_a_whole_jpeg_png_or_webp_is_avatar_invalid_and_nothing_is_stored(alice, media_root, data, name):
    refused(upload(alice, data, name=name, content_type="image/png"), "avatar_invalid")
    assert stored_files(media_root) == []
    assert avatars_of_tenant(TENANT_A) == []
    assert alice.get("/api/v1/me").json()["avatar_state"] == ""


@pytest.mark.parametrize(
    "data",
    [png_claiming(60_000, 60_000), png_claiming(4096, 16), png_bomb(5000)],
    ids=["header-of-a-bomb", "too-wide", "real-bomb"],
)
def test_too_many_pixels_is_avatar_too_large_without_decoding_and_nothing_is_stored(alice, media_root, data):
    response = upload(alice, data, name="a.png", content_type="image/png")
    refused(response, "avatar_too_large")
    assert response.json()["error"]["limit_pixels"] == 2048
    assert stored_files(media_root) == []
    assert avatars_of_tenant(TENANT_A) == []


def test_a_file_over_the_size_bound_is_avatar_too_large_and_nothing_is_stored(alice, media_root, settings):
    data = image_bytes("PNG", (8, 8)) + b"\0" * settings.AVATARS_MAX_BYTES  # a valid PNG with a long tail
    response = upload(alice, data, name="a.png", content_type="image/png")
    refused(response, "avatar_too_large")
    assert response.json()["error"]["limit"] == settings.AVATARS_MAX_BYTES
    assert stored_files(media_root) == []


def test_a_body_past_the_uploads_own_limit_is_413_before_the_view(alice, media_root, settings):
    response = upload(alice, b"\0" * (settings.AVATARS_MAX_BYTES + 128 * 1024), name="a.png")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    # Elsewhere the API's general limit still holds.
    assert alice.patch("/api/v1/me", {"nickname": "x" * (settings.API_MAX_BODY_BYTES + 1)}).status_code == 413
    assert stored_files(media_root) == []


def test_no_file_field_or_a_json_body_is_refused(alice, media_root):
    response = alice.client.post("/api/v1/me/avatar", {"picture": "x"}, headers=alice.headers())
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]
    response = alice.post("/api/v1/me/avatar", {"file": "aGVsbG8="})
    assert (response.status_code, response.json()["error"]["code"]) == (415, "unsupported_media_type")
    assert stored_files(media_root) == []


def test_an_upload_needs_a_token(media_root):
    response = upload(TenantClient(TENANT_A), image_bytes("PNG"))
    assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
    assert stored_files(media_root) == []


def test_exif_and_other_metadata_are_gone_and_the_orientation_is_applied(alice, media_root):
    original = jpeg_with_exif((40, 20), orientation=6)  # 6: the camera was turned; shown rotated 90 degrees
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif()[MAKE] == "SpyCam-3000"  # the test's image does carry it
    assert upload(alice, original).status_code == 202
    [name] = stored_files(media_root)
    data = (media_root / name).read_bytes()
    assert b"SpyCam" not in data and b"Exif" not in data
    with Image.open(media_root / name) as stored:
        assert dict(stored.getexif()) == {}
        assert stored.getexif().get_ifd(GPS_IFD) == {}
        assert stored.size == (20, 40)  # turned upright, so no orientation tag is needed
        assert "icc_profile" not in stored.info


def test_png_text_chunks_are_gone(alice, media_root):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address: 1 Secret Lane")
    assert upload(alice, image_bytes("PNG", pnginfo=info), name="a.png").status_code == 202
    [name] = stored_files(media_root)
    assert b"Secret Lane" not in (media_root / name).read_bytes()


def test_uploads_past_the_users_own_rate_are_429_and_store_nothing(alice, media_root, settings):
    settings.AVATARS_UPLOAD_RATE = "2/min"
    for _ in range(2):
        assert upload(alice, image_bytes("PNG"), name="a.png").status_code == 202
    response = upload(alice, image_bytes("PNG"), name="a.png")
    assert (response.status_code, response.json()["error"]["code"]) == (429, "throttled")
    assert len(stored_files(media_root)) == 1  # the second replaced the first; the third never arrived


def test_a_database_failure_while_recording_leaves_no_file(alice, media_root):
    with mock.patch("avatars.services.Avatar.objects.create", side_effect=OperationalError("gone")):
        response = upload(alice, image_bytes("PNG"), name="a.png")
    assert response.status_code == 503
    assert stored_files(media_root) == []


def test_a_failure_after_the_commit_keeps_the_committed_avatars_file(alice, media_root):
    with mock.patch("avatars.services.pending_mark", side_effect=RuntimeError("after the commit")):
        with pytest.raises(RuntimeError):
            upload(alice, image_bytes("PNG"), name="a.png")
    [avatar] = avatars_of_tenant(TENANT_A)
    assert stored_files(media_root) == [avatar.file_name]
