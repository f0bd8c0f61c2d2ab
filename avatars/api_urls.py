from django.urls import URLPattern, URLResolver, path

from avatars.api import MeAvatarApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/avatar", MeAvatarApi.as_view(), name="me-avatar"),
]
