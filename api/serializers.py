"""Serializers shared by several endpoints."""

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.tokens import NEWEST_AVATAR_STATUS


# A plain Serializer with declared fields rather than a ModelSerializer: DRF rebuilds a ModelSerializer's fields
# from the model on every instance, a large share of GET /api/v1/me's time (benchmarks/README.md).
class UserOutputSerializer(serializers.Serializer):
    """A user as the mini-program sees it; session_key and tokens never leave the server."""

    id = serializers.IntegerField(read_only=True)
    openid = serializers.CharField(read_only=True)
    unionid = serializers.CharField(read_only=True)
    nickname = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    avatar_state = serializers.SerializerMethodField(
        help_text="The newest upload of POST /api/v1/me/avatar: `pending` (avatar_url is still the previous one), "
        "`approved` (it is avatar_url), `rejected` (WeChat found it risky), `unchecked` (WeChat never answered); "
        '"" before any upload.'
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field({"type": "string", "enum": ["", "pending", "approved", "rejected", "unchecked"]})
    def get_avatar_state(self, user: Any) -> str:
        # WeChat's `review` is still `pending` to the user: a person has not decided yet.
        if self.context.get("avatar_status_read") and hasattr(user, NEWEST_AVATAR_STATUS):
            # Read with the user by the token's query (accounts.tokens), in this same request.
            status = getattr(user, NEWEST_AVATAR_STATUS)
        else:
            # Through the user's reverse relation (avatars' foreign key), so this layer imports no tenant app that
            # imports it back.
            status = user.avatars.order_by("-id").values_list("status", flat=True).first()
        return AVATAR_STATES_SHOWN.get(status or "", "")


# An upload's status -> what the user is told (a replaced upload means a newer one exists, so it is never the newest).
AVATAR_STATES_SHOWN = {
    "pending": "pending",
    "review": "pending",
    "approved": "approved",
    "rejected": "rejected",
    "unchecked": "unchecked",
}


# What DRF's CharField refuses beyond its type and length is published as a pattern, so the schema says it too
# (DRF's own checks never reach the schema): no NUL character, and "" only where blank is allowed, which the
# schema adds as a choice of its own (oneOf). The patterns avoid \s, whose meaning differs between regex engines
# (Python's includes \x1c-\x1f): whitespace is kept as sent, never trimmed, so no pattern needs to name it.
NO_NUL_PATTERN = r"^[^\x00]*$"
FILLED_NO_NUL_PATTERN = r"^[^\x00]+$"


class StrictCharField(serializers.CharField):
    """A string, and only a string, kept as sent: DRF's CharField would store `{"nickname": 0}` as "0"."""

    default_error_messages = {"not_a_string": "Must be a string."}
    pattern = FILLED_NO_NUL_PATTERN
    pattern_message = "Null characters are not allowed."

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators.append(RegexValidator(self.pattern, message=self.pattern_message))

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": f"^{settings.TENANT_APP_ID_PATTERN}$"})
class AppIdField(StrictCharField):
    """An AppID in a body: any string here, refused as 400 app_id_invalid by the view (tenants.app_ids), with the
    AppID's form published in the schema as for the X-AppID header and the URLs."""
