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


# What DRF's CharField refuses beyond its type and length, as one pattern each, so the schema says it too (DRF's
# own blank and NUL checks never reach the schema): no NUL character anywhere, and where blank is not allowed,
# something besides whitespace (blank means empty once trimmed).
NO_NUL_PATTERN = r"^[^\x00]*$"
# For a field that may be blank: "" never reaches validators, and the schema adds it as a choice of its own
# (oneOf), so the pattern must not match it too.
FILLED_NO_NUL_PATTERN = r"^[^\x00]+$"
NOT_BLANK_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
# An absolute http(s) URL: a host, then optionally a path, query or fragment; no whitespace or NUL anywhere. What
# the schema allows the API accepts (Django's URLValidator refused some URLs the schema's `format: uri` allowed,
# e.g. a 511-character one with a long host name).
HTTP_URL_PATTERN = r"^https?://[^\s\x00/?#@]+([/?#][^\s\x00]*)?$"


class StrictCharField(serializers.CharField):
    """A string, and only a string: DRF's CharField would store `{"nickname": 0}` as "0"."""

    default_error_messages = {"not_a_string": "Must be a string."}
    pattern: str | None = None
    pattern_message = "Null characters are not allowed."

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        pattern = self.pattern or (FILLED_NO_NUL_PATTERN if self.allow_blank else NOT_BLANK_PATTERN)
        self.validators.append(RegexValidator(pattern, message=self.pattern_message))

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class HttpUrlField(StrictCharField):
    pattern = HTTP_URL_PATTERN
    pattern_message = "Must be an http:// or https:// URL."
