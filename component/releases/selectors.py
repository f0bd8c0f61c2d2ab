"""Reads of template releases: the board (each release, each tenant's stage) and the targets in flight."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from component.releases.models import FINAL_STAGES, Release, ReleaseTarget, Stage


def targets_due(*, now: datetime, limit: int) -> QuerySet[ReleaseTarget]:
    """Targets in flight with something to do now, and no job working on them."""
    waiting_for_operator = Q(stage=Stage.APPROVED, release__auto_release=False, release_requested=False)
    return (
        ReleaseTarget.objects.exclude(stage__in=FINAL_STAGES)
        .exclude(waiting_for_operator)
        .filter(Q(next_check_at__isnull=True) | Q(next_check_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(handed_out_until__isnull=True) | Q(handed_out_until__lt=now))
        .order_by("next_check_at", "pk")[:limit]
    )


@dataclass(frozen=True)
class ReleaseSummary:
    release: Release
    stages: dict[str, int]  # stage -> tenants

    @property
    def total(self) -> int:
        return sum(self.stages.values())

    @property
    def in_flight(self) -> int:
        return sum(count for stage, count in self.stages.items() if stage not in FINAL_STAGES)


def release_summaries(*, limit: int = 50) -> list[ReleaseSummary]:
    """The latest releases, each with how many of its tenants stand at each stage."""
    releases = list(Release.objects.order_by("-created_at")[:limit])
    counts: dict[int, dict[str, int]] = {release.pk: {} for release in releases}
    rows = ReleaseTarget.objects.filter(release__in=releases).values("release_id", "stage").annotate(count=Count("pk"))
    for row in rows:
        counts[row["release_id"]][row["stage"]] = row["count"]
    return [ReleaseSummary(release=release, stages=counts[release.pk]) for release in releases]


def release_stage_counts(*, release: Release) -> dict[str, int]:
    rows = release.targets.values("stage").annotate(count=Count("pk"))
    return {row["stage"]: row["count"] for row in rows}


def release_targets(*, release_id: int) -> QuerySet[ReleaseTarget]:
    return ReleaseTarget.objects.filter(release_id=release_id).order_by("app_id")
