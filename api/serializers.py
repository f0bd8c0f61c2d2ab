"""Serializers shared by several endpoints."""

from django.core.validators import RegexValidator
from rest_framework import serializers


# A plain Serializer with declared fields rather than a ModelSerializer: DRF rebuilds a ModelSerializer's fields
# from the model on every instance, about 15% of GET /api/v1/me in the benchmark's profile.
class UserOutputSerializer(serializers.Serializer):
    """A user as the mini-program sees it; session_key and tokens never leave the server."""

    id = serializers.IntegerField(read_only=True)
    openid = serializers.CharField(read_only=True)
    unionid = serializers.CharField(read_only=True)
    nickname = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would store `{"nickname": 0}` as "0"."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


# An absolute http(s) URL: a host, then optionally a path, query or fragment; no whitespace anywhere. The schema
# publishes this very pattern, so what it allows the API accepts (Django's URLValidator refused some URLs the
# schema's `format: uri` allows, e.g. a 511-character one with a long host name).
HTTP_URL_PATTERN = r"^https?://[^\s/?#@]+([/?#]\S*)?$"


class HttpUrlField(StrictCharField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(HTTP_URL_PATTERN, message="Must be an http:// or https:// URL."))
