from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from console.commands import tenant_provision_audited
from tenants.selectors import tenant_list

DEMO_APP_ID = "wx0123456789abcdef"
# The fake WeChat server that `./dev serve` starts knows the demo app by this secret; never a real one.
DEMO_APP_SECRET = "demo-app-secret"  # noqa: S105


class Command(BaseCommand):
    help = "Create a demo tenant when there is none (the embedded default), and print curl lines for it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="where the server will listen")

    def handle(self, *args: Any, addr: str, **options: Any) -> None:
        tenant = tenant_list().first()
        if tenant is None:
            tenant = tenant_provision_audited(
                module=__name__, app_id=DEMO_APP_ID, name="Demo 小程序 🚀", app_secret=DEMO_APP_SECRET
            )
            self.stdout.write(f"created the demo tenant {tenant.app_id}")
        header = f"-H '{settings.TENANT_HEADER}: {tenant.app_id}'"
        self.stdout.write("Try it:")
        self.stdout.write(f"  curl {header} http://{addr}/api/v1/ping")
        self.stdout.write(
            f"  curl {header} -H 'Content-Type: application/json' -d '{{\"code\": \"code-alice\"}}' "
            f"http://{addr}/api/v1/auth/login"
        )
        self.stdout.write(f"  API docs: http://{addr}/api/docs/")
