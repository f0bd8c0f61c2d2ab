"""/wechat/v1/component/: WeChat's authorization events and the authorization page's way back (no X-AppID)."""

from django.urls import URLPattern, URLResolver, path

from component import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("events", views.component_events_view, name="component-events"),
    path("authorized/<str:link>", views.authorization_return_view, name="component-authorized"),
]
