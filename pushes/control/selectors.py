"""Reads of the push settings (control database)."""

from pushes.control.models import PushSettings


def push_settings_get(*, app_id: str) -> PushSettings | None:
    return PushSettings.objects.filter(app_id=app_id).first()
