from django.db import models


class ProbeRow(models.Model):
    """A row of the throwaway table: what a tenant app's first migration typically creates."""

    name = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
