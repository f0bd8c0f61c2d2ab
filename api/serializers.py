"""Serializers shared by several endpoints."""

from rest_framework import serializers

from accounts.models import MiniProgramUser


class UserOutputSerializer(serializers.ModelSerializer):
    """A user as the mini-program sees it; session_key and tokens never leave the server."""

    class Meta:
        model = MiniProgramUser
        fields = ["id", "openid", "unionid", "nickname", "avatar_url", "phone", "created_at", "updated_at"]
        read_only_fields = fields
