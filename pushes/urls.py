from django.urls import URLPattern, URLResolver, path

from pushes.views import push_receive

# Mounted at /wechat/v1/ (config/urls.py): the URL entered on WeChat's push settings page.
urlpatterns: list[URLPattern | URLResolver] = [
    path("push/<str:app_id>", push_receive, name="wechat-push"),
]
