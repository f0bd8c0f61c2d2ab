import json
from argparse import ArgumentParser
from itertools import groupby
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.commands import run_service
from tenants.jobs import FailedJob, failed_job_requeue, failed_jobs_list, failed_jobs_requeue

PLATFORM = "platform"


class Command(BaseCommand):
    help = (
        "List the failed jobs of the shared queue by tenant, with their reasons; with --requeue, put them back "
        "on the queue (by --tenant, by job id, or --all)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="with --requeue: these jobs")
        parser.add_argument("--tenant", metavar="APP_ID", help=f"only this tenant's jobs ({PLATFORM!r}: platform jobs)")
        parser.add_argument("--requeue", action="store_true", help="requeue instead of listing")
        parser.add_argument("--all", action="store_true", help="with --requeue: every failed job of every tenant")
        parser.add_argument("--json", action="store_true", help="list as one JSON array, for scripts")

    def handle(self, *args: Any, job_ids: list[str], tenant: str | None, requeue: bool, **options: Any) -> None:
        if requeue:
            self._requeue(job_ids, tenant, everything=options["all"])
        elif job_ids or options["all"]:
            raise CommandError("job ids and --all go with --requeue")
        else:
            self._list(_failed(tenant), as_json=options["json"])

    def _list(self, jobs: list[FailedJob], *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps([_row(job) for job in jobs], ensure_ascii=False, indent=2))
            return
        for app_id, group in groupby(sorted(jobs, key=_tenant_of), key=_tenant_of):
            rows = list(group)
            self.stdout.write(f"{app_id}: {len(rows)} failed")
            for job in rows:
                ended = job.ended_at.isoformat(timespec="seconds") if job.ended_at else "-"
                failure = job.failure
                self.stdout.write(f"  {job.id}  {ended}  {job.func_name}  {failure['code']}: {failure['message']}")
        self.stdout.write(f"{len(jobs)} failed job(s)")

    def _requeue(self, job_ids: list[str], tenant: str | None, *, everything: bool) -> None:
        if sum((bool(job_ids), tenant is not None, everything)) != 1:
            raise CommandError("--requeue needs exactly one of: job ids, --tenant APP_ID, --all")
        if job_ids:
            jobs = [run_service(failed_job_requeue, job_id=job_id) for job_id in job_ids]
        elif everything:
            jobs = run_service(failed_jobs_requeue, app_id=None)
        else:
            jobs = [failed_job_requeue(job_id=job.id) for job in _failed(tenant)]
        for job in jobs:
            self.stdout.write(f"requeued {job.id} ({job.app_id or PLATFORM})")
        self.stdout.write(f"{len(jobs)} job(s) requeued")


def _failed(tenant: str | None) -> list[FailedJob]:
    if tenant is not None and tenant != PLATFORM:
        return failed_jobs_list(app_id=tenant)  # from the tenant's own index
    jobs = failed_jobs_list()
    return jobs if tenant is None else [job for job in jobs if _tenant_of(job) == tenant]


def _tenant_of(job: FailedJob) -> str:
    return job.app_id or PLATFORM


def _row(job: FailedJob) -> dict[str, Any]:
    ended = job.ended_at.isoformat() if job.ended_at else None
    return {"id": job.id, "app_id": job.app_id, "func": job.func_name, "ended_at": ended, "failure": job.failure}
