"""Serializers shared by several endpoints."""

from rest_framework import serializers


class UserOutputSerializer(serializers.Serializer):
    """A user as the mini-program sees it; session_key and tokens never leave the server.

    A plain Serializer with declared fields rather than a ModelSerializer: DRF rebuilds a ModelSerializer's
    fields from the model on every instance, about 15% of GET /api/v1/me in the benchmark's profile.
    """

    id = serializers.IntegerField(read_only=True)
    openid = serializers.CharField(read_only=True)
    unionid = serializers.CharField(read_only=True)
    nickname = serializers.CharField(read_only=True)
    avatar_url = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)
