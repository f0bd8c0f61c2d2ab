"""The project's URLs plus views that exist only for tests (ROOT_URLCONF in tests that need them)."""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns
from tests import views

urlpatterns = [
    *project_urlpatterns,
    path("test/users", views.write_then_read_users),
    path("test/users/count", views.count_users),
    path("test/sleep", views.sleep_in_database),
    path("test/users/count-api", views.UsersCountApi.as_view()),
    path("test/fail", views.fail),
    path("test/whoami", views.whoami),
    path("test/enqueue", views.enqueue_record_job),
    path("test/jobs/<str:job_id>", views.job_state),
]
