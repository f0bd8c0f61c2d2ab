"""For the tests of every door: the audit entries written since a point in the test."""

from django.db.models import Max

from console.models import AuditEntry


class AuditSince:
    """Entries are never deleted between tests, so each test looks only at those written after it began."""

    def __init__(self) -> None:
        self.start = AuditEntry.objects.aggregate(top=Max("id"))["top"] or 0

    def entries(self) -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(id__gt=self.start).order_by("id"))

    def one(self) -> AuditEntry:
        entries = self.entries()
        assert len(entries) == 1, [str(entry) for entry in entries]
        self.start = entries[0].id
        return entries[0]

    def none(self) -> None:
        assert self.entries() == []
