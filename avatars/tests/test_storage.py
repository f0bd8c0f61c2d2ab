"""Where avatars are stored: STORAGES["avatars"] when the deployment defines it, else the file system."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, InMemoryStorage

from avatars.models import Avatar
from avatars.storage import avatar_public_url, avatar_storage
from avatars.tests.conftest import stored_files, upload
from avatars.tests.images import image_bytes
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A

S3 = {
    "BACKEND": "storages.backends.s3.S3Storage",
    "OPTIONS": {"bucket_name": "miniplex-media", "endpoint_url": "https://cos.ap-shanghai.myqcloud.com"},
}


def test_by_default_the_file_system_under_media_root(media_root):
    storage = avatar_storage()
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(media_root)


def test_an_s3_compatible_bucket_is_chosen_from_storages(settings):
    settings.STORAGES = {**settings.STORAGES, "avatars": S3}
    # django-storages' S3 backend is what gets loaded; boto3 is the operator's to install, so here it stops there.
    with pytest.raises(ImproperlyConfigured, match="Boto3"):
        avatar_storage()


@pytest.mark.usefixtures("tenant_db", "queue_name")
def test_an_upload_goes_to_the_storage_storages_names(settings, logged_in, media_root):
    settings.STORAGES = {**settings.STORAGES, "avatars": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    storage = avatar_storage()
    assert isinstance(storage, InMemoryStorage)
    assert upload(logged_in(TENANT_A, "code-alice"), image_bytes("JPEG")).status_code == 202
    assert stored_files(media_root) == []  # nothing on the file system
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        avatar = Avatar.objects.get()
    assert storage.exists(avatar.file_name)
    assert avatar.file_name.startswith(f"avatars/{TENANT_A}/")


@pytest.mark.parametrize("base", ["https://cdn.example.com/m/", "https://cdn.example.com/m"])
def test_the_public_url_is_under_media_public_base_url(settings, base):
    settings.MEDIA_PUBLIC_BASE_URL = base
    assert avatar_public_url(file_name="avatars/wx1/a.jpg") == "https://cdn.example.com/m/avatars/wx1/a.jpg"


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("https://media.example.com/", False),
        ("http://media.example.com/", True),
        ("https://127.0.0.1/media/", True),
        ("http://127.0.0.1:8000/media/", True),
    ],
)
def test_check_deploy_warns_of_a_public_url_wechat_cannot_fetch(settings, url, warned):
    from avatars.system_checks import media_public_base_url_check

    settings.MEDIA_PUBLIC_BASE_URL = url
    assert [message.id for message in media_public_base_url_check()] == (["avatars.W001"] if warned else [])
