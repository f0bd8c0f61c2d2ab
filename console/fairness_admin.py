"""The fairness columns of the tenant registry's admin (console.tenant_admin): the bound on queued jobs, the
backlog and 30 days of usage (docs/fairness.md). Read-only but for the bound, which is the tenant's own field."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.exceptions import REDIS_UNREACHABLE
from core.usage import KINDS, usage_days, usage_totals
from tenants.jobs import fairness
from tenants.models import Tenant

USAGE_DAYS = 30


@admin.display(description="Jobs queued")
def jobs_queued(model_admin: admin.ModelAdmin, tenant: Tenant) -> str:
    """The list's column: Redis only (no tenant database is opened for a page of 100 tenants)."""
    try:
        backlog = fairness.backlog_get(
            app_id=tenant.app_id, db_name=tenant.db_name, db_server=tenant.db_server, outbox=False
        )
    except REDIS_UNREACHABLE:
        return "?"
    bound = backlog.bound or "no bound"
    return f"{backlog.queued} / {bound}" + (" · more held" if backlog.held else "")


@admin.display(description="Job backlog")
def backlog(model_admin: admin.ModelAdmin, tenant: Tenant) -> str:
    try:
        found = fairness.backlog_get(app_id=tenant.app_id, db_name=tenant.db_name, db_server=tenant.db_server)
    except REDIS_UNREACHABLE:
        return "Redis is unreachable"
    bound = f"bound {found.bound}" if found.bound else "no bound"
    outbox = "unknown" if found.outbox is None else found.outbox
    held = "yes: its next jobs wait in its outbox and are released as its queued count falls" if found.held else "no"
    return format_html(
        "queued: {} ({}) · in its outbox: {} · jobs held past the bound: {}", found.queued, bound, outbox, held
    )


@admin.display(description=f"Usage, last {USAGE_DAYS} days")
def usage(model_admin: admin.ModelAdmin, tenant: Tenant) -> SafeString | str:
    try:
        rows = usage_days(app_id=tenant.app_id, days=USAGE_DAYS)
    except REDIS_UNREACHABLE:
        return "Redis is unreachable"
    totals = usage_totals(rows)
    head = format_html_join("", "<th>{}</th>", ((kind.replace("_", " "),) for kind in KINDS))
    body = format_html_join(
        "",
        "<tr><td>{}</td>{}</tr>",
        (
            (row["day"], format_html_join("", "<td>{}</td>", ((row[kind],) for kind in KINDS)))
            for row in rows
            if any(row[kind] for kind in KINDS)  # days without anything are left out
        ),
    )
    total = format_html_join("", "<td><b>{}</b></td>", ((totals[kind],) for kind in KINDS))
    return format_html(
        '<table class="usage"><thead><tr><th>day</th>{}</tr></thead><tbody>{}<tr><td><b>{} days</b></td>{}</tr>'
        "</tbody></table>",
        head,
        body,
        USAGE_DAYS,
        total,
    )


def bound_saved(tenant: Tenant) -> None:
    """This process reads the new bound at once; the others within JOBS_TENANT_BOUND_CACHE_SECONDS."""
    fairness.tenant_bound_forget(app_id=tenant.app_id)
