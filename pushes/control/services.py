"""Writes of the push settings (control database). The doors (command, admin, platform API) audit them."""

import re
from dataclasses import dataclass

from pushes.control.models import PushSettings
from pushes.exceptions import PushSettingsInvalid
from tenants.exceptions import TenantNotFound
from tenants.models import Tenant
from wechat.crypto import ENCODING_AES_KEY_LENGTH, aes_key_from_encoding_aes_key

# WeChat's 消息推送 page: the Token is 3-32 letters or digits, the EncodingAESKey 43 letters or digits.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9]{3,32}", re.ASCII)
AES_KEY_PATTERN = re.compile(rf"[A-Za-z0-9]{{{ENCODING_AES_KEY_LENGTH}}}", re.ASCII)
ENCRYPTED_MODES = (PushSettings.Mode.COMPATIBLE, PushSettings.Mode.SAFE)


@dataclass(frozen=True)
class PushSettingsChange:
    """What one door asks to change; None keeps the current value (the secrets are write-only)."""

    token: str | None = None
    aes_key: str | None = None
    mode: str | None = None
    format: str | None = None
    transfer_customer_service: bool | None = None


def push_settings_set(*, app_id: str, change: PushSettingsChange) -> PushSettings:
    """Creates or updates a tenant's push settings; PushSettingsInvalid (nothing saved) when they do not validate."""
    settings = push_settings_validate(app_id=app_id, change=change)
    if change.token is not None:
        settings.token = change.token
    if change.aes_key is not None:
        settings.aes_key = change.aes_key
    for name in ("mode", "format", "transfer_customer_service"):
        if getattr(change, name) is not None:
            setattr(settings, name, getattr(change, name))
    settings.save()
    return settings


def push_settings_validate(*, app_id: str, change: PushSettingsChange) -> PushSettings:
    """The tenant's current settings (unsaved new ones if none) when `change` may be applied to them.

    TenantNotFound for an AppID the registry does not know, PushSettingsInvalid (with each field's problem) else.
    """
    if not Tenant.objects.filter(app_id=app_id).exists():
        raise TenantNotFound()
    settings = PushSettings.objects.filter(app_id=app_id).first() or PushSettings(app_id=app_id)
    mode = change.mode if change.mode is not None else settings.mode
    aes_key = change.aes_key if change.aes_key is not None else settings.aes_key
    fields = _problems(change, mode=mode, aes_key=aes_key, has_token=bool(settings.token_encrypted))
    if fields:
        raise PushSettingsInvalid(fields)
    return settings


def _problems(change: PushSettingsChange, *, mode: str, aes_key: str, has_token: bool) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if change.token is None and not has_token:
        fields["token"] = ["Required: the Token entered on WeChat's push settings page."]
    elif change.token is not None and not TOKEN_PATTERN.fullmatch(change.token):
        fields["token"] = ["3 to 32 letters or digits, as WeChat requires."]
    if change.aes_key is not None and change.aes_key and not _aes_key_valid(change.aes_key):
        fields["aes_key"] = [f"{ENCODING_AES_KEY_LENGTH} letters or digits, as WeChat generates it."]
    elif mode in ENCRYPTED_MODES and not aes_key:
        fields["aes_key"] = [f"Required in {mode} mode: the EncodingAESKey of WeChat's push settings page."]
    if mode not in PushSettings.Mode.values:
        fields["mode"] = [f"One of {', '.join(PushSettings.Mode.values)}."]
    if change.format is not None and change.format not in PushSettings.Format.values:
        fields["format"] = [f"One of {', '.join(PushSettings.Format.values)}."]
    return fields


def _aes_key_valid(value: str) -> bool:
    if not AES_KEY_PATTERN.fullmatch(value):
        return False
    try:
        aes_key_from_encoding_aes_key(value)
    except ValueError:
        return False
    return True


def push_settings_delete(*, app_id: str) -> bool:
    """Forgets a tenant's push settings (its pushes are refused from then on); whether there were any."""
    deleted, _ = PushSettings.objects.filter(app_id=app_id).delete()
    return bool(deleted)
