"""Creates the benchmark's tenants that do not exist yet, with tenants.services.tenant_provision (what
`manage.py create_tenant` runs), and prints what it took as JSON. Run by the runner in a child process:

    DJANGO_SETTINGS_MODULE=benchmarks.apps.settings python -m benchmarks.provision COUNT [--parallel N]

Tenants are created once and reused by later runs (`python -m benchmarks --cleanup` drops them). With
--parallel N, N processes share the work (each provisioning its own slice: a database, its migration, a row).
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def bench_app_id(index: int) -> str:
    """The AppID of the benchmark's tenant number `index` (wx + 16 hex digits, "be" for bench)."""
    return f"wxbe{index:014x}"


def app_secret(app_id: str) -> str:
    return f"bench-secret-{app_id}"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.settings")
    import django

    django.setup()


def existing_active(app_ids: list[str]) -> set[str]:
    from tenants.models import Tenant

    return set(Tenant.objects.filter(app_id__in=app_ids, status=Tenant.Status.ACTIVE).values_list("app_id", flat=True))


def provision_slice(app_ids: list[str]) -> list[float]:
    """Provisions each AppID in turn; the seconds each one took."""
    _setup()
    from django.db import connections

    from tenants.services import tenant_provision

    took = []
    for app_id in app_ids:
        started = time.perf_counter()
        tenant_provision(app_id=app_id, name=f"Bench {app_id[-6:]}", app_secret=app_secret(app_id))
        took.append(time.perf_counter() - started)
    connections.close_all()
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--parallel", type=int, default=1)
    args = parser.parse_args(argv)
    _setup()
    wanted = [bench_app_id(i) for i in range(1, args.count + 1)]
    missing = [app_id for app_id in wanted if app_id not in existing_active(wanted)]
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    took: list[float] = []
    if missing:
        slices = [missing[i :: args.parallel] for i in range(args.parallel)]
        with ProcessPoolExecutor(args.parallel) as pool:
            for part in pool.map(provision_slice, [s for s in slices if s]):
                took.extend(part)
    elapsed = time.perf_counter() - started
    json.dump(
        {"wanted": len(wanted), "created": len(missing), "parallel": args.parallel, "seconds": elapsed, "each": took},
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
