"""Session fixtures: the real MariaDB and Redis, a control database and three tenant databases built once.

pytest-django's own database setup wraps every alias in test transactions, which would pin a tenant
server's connection to one tenant; instead the control database is made with Django's setup_databases
and the tenant databases with our own provisioning service, and rows are cleaned between tests.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from django_redis import get_redis_connection

from tests.helpers import SESSION_TENANTS, schema_templates_on_server, session_secret, tenant_databases_on_server
from wechat.fake_server import FakeWeChatServer


def _delete_cache_keys() -> None:
    """This run's keys only: the caches' (`<prefix>:...`) and rq's (`<RQ_KEY_PREFIX>...`)."""
    client = get_redis_connection("platform")
    for pattern in (f"{settings.CACHE_KEY_PREFIX}:*", f"{settings.RQ_KEY_PREFIX}*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)


def _drop_leftover_tenant_databases() -> None:
    from core.tenant_context import tenant_ddl_alias
    from routers.backends.tenant import tenant_server

    ddl = tenant_server(tenant_ddl_alias(settings.TENANT_DB_DEFAULT_SERVER))
    for name in tenant_databases_on_server() | schema_templates_on_server():
        ddl.drop_tenant_database(name)


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker) -> Iterator[None]:  # noqa: ANN001
    from tenants.services import tenant_provision

    with django_db_blocker.unblock():
        _delete_cache_keys()
        _drop_leftover_tenant_databases()
        # django-stubs types aliases as a Mapping; Django only iterates it and tests membership (its runner: a set).
        old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"})  # type: ignore[arg-type]
        for index, app_id in enumerate(SESSION_TENANTS):
            tenant_provision(app_id=app_id, name=f"Tenant {index} 😀", app_secret=session_secret(app_id))
    yield
    with django_db_blocker.unblock():
        _drop_leftover_tenant_databases()
        teardown_databases(old_config, verbosity=0)
        _delete_cache_keys()


@pytest.fixture
def tenant_db(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # noqa: ANN001
    """Database access for one test; afterwards the session tenants are back to active and empty."""
    with django_db_blocker.unblock():
        yield
        _clean_after_test()


def _clean_after_test() -> None:
    from accounts.models import MiniProgramUser
    from core.tenant_context import activate_tenant
    from tenants import activity, cache
    from tenants.models import Tenant
    from tenants.outbox.models import OutboxJob
    from tenants.secrets import secret_encrypt
    from tenants.selectors import tenant_context_for
    from tenants.services import tenant_drop

    for tenant in Tenant.objects.exclude(app_id__in=SESSION_TENANTS):
        tenant_drop(app_id=tenant.app_id)
    for tenant in Tenant.objects.filter(app_id__in=SESSION_TENANTS):
        tenant.status = Tenant.Status.ACTIVE
        tenant.app_secret_encrypted = secret_encrypt(session_secret(tenant.app_id))
        tenant.save(update_fields=["status", "app_secret_encrypted"])
    for tenant in Tenant.objects.all():
        with activate_tenant(tenant_context_for(tenant)):
            MiniProgramUser.objects.all().delete()
            # Jobs enqueued in a transaction leave their outbox record for the relay's sweep.
            OutboxJob.objects.all().delete()
    cache.clear_local()
    activity.clear_local()
    _delete_cache_keys()


# --- The fake WeChat server: one on 127.0.0.1 per session, knowing the session tenants' secrets -------------


def register_session_apps(server: FakeWeChatServer) -> None:
    for app_id in SESSION_TENANTS:
        server.control.register_app(app_id, session_secret(app_id), unionid=True)


@pytest.fixture(scope="session")
def wechat_server() -> Iterator[FakeWeChatServer]:
    server = FakeWeChatServer()
    server.start()
    register_session_apps(server)
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_server: FakeWeChatServer, settings, tenant_db: None) -> Iterator[FakeWeChatServer]:  # noqa: ANN001
    """The fake server, with this test's settings pointing at it; faults and tokens reset afterwards."""
    settings.WECHAT_API_BASE = wechat_server.base_url
    settings.WECHAT_TIMEOUT_SECONDS = 1.0
    from accounts.wechat_access import access_token_holder

    access_token_holder.cache_clear()
    yield wechat_server
    wechat_server.control.reset()
    register_session_apps(wechat_server)


# --- Shared by the admin, platform and worker tests ------------------------------------------------------


@pytest.fixture
def queue_name(settings) -> str:  # noqa: ANN001
    """A job queue of this test's own (tests.workers); its workers get the same name."""
    from tests.workers import use_test_queue

    return use_test_queue(settings)


@pytest.fixture
def admin_client(tenant_db: None) -> Iterator[Client]:
    """A superuser logged in to Django admin (overrides pytest-django's, which wants its own database set-up)."""
    from django.contrib.auth.models import User

    user = User.objects.create_superuser("platform-admin", "admin@example.com", "pw-for-tests")
    client = Client()
    client.force_login(user)
    yield client
    user.delete()
