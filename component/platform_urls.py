from django.urls import URLPattern, URLResolver, path

from component import platform

urlpatterns: list[URLPattern | URLResolver] = [
    path("component/authorizations", platform.AuthorizationsApi.as_view(), name="platform-component-authorizations"),
    path(
        "component/authorizers/<str:app_id>",
        platform.AuthorizerDetailApi.as_view(),
        name="platform-component-authorizer",
    ),
]
