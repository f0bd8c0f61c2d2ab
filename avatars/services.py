"""What happens to an avatar: uploaded, checked by WeChat, then shown, deleted, or left to an operator.

An upload is cleaned (avatars.images), stored under the tenant's own prefix and recorded `pending`; the user's
avatar stays the previous one. A tenant job submits it to WeChat's media_check_async once the record commits
(avatars.checks). WeChat's pushed answer decides: `pass` makes it the avatar, `risky` deletes it, `review` leaves
it waiting for a person. A check that gets no answer in time is submitted again, a bounded number of times, and
the avatar is then `unchecked`: shown to operators on the console's Avatars page, never to other users.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from accounts.models import MiniProgramUser
from avatars.exceptions import AvatarNotWaiting
from avatars.images import image_clean
from avatars.models import Avatar, AvatarCheck
from avatars.pending import pending_mark, pending_unmark
from avatars.storage import avatar_file_name, avatar_public_url, avatar_storage
from core.tenant_context import require_current_tenant
from tenants.jobs import enqueue

logger = logging.getLogger(__name__)

# Uploads that wait for a verdict (or a person): a newer upload of the same user takes their place.
WAITING = (Avatar.Status.PENDING, Avatar.Status.REVIEW, Avatar.Status.UNCHECKED)
SUGGESTIONS = ("pass", "risky", "review")
SUBMIT_JOB = "avatars.checks.avatar_check_submit"


def avatar_upload(*, user: MiniProgramUser, data: bytes) -> Avatar:
    """Stores a new avatar of `user` as pending and queues its check; nothing is stored when the image is refused."""
    tenant = require_current_tenant()
    clean = image_clean(data=data)
    storage = avatar_storage()
    file_name = storage.save(
        avatar_file_name(app_id=tenant.app_id, extension=clean.extension), ContentFile(clean.content)
    )
    due_at = _check_due_from(timezone.now())
    committed: list[bool] = []  # set by the first commit hook: from then on the file is the record's
    try:
        with transaction.atomic(using=tenant.db_alias):
            transaction.on_commit(lambda: committed.append(True), using=tenant.db_alias)
            replaced = _replace_waiting(user=user)
            avatar = Avatar.objects.create(
                user=user,
                file_name=file_name,
                public_url=avatar_public_url(file_name=file_name),
                image_format=clean.image_format,
                width=clean.width,
                height=clean.height,
                size_bytes=len(clean.content),
                check_due_at=due_at,
            )
            enqueue(SUBMIT_JOB, avatar_id=avatar.pk)
            transaction.on_commit(lambda: _files_delete(replaced), using=tenant.db_alias)
            transaction.on_commit(lambda: pending_mark(app_id=tenant.app_id, due_at=due_at), using=tenant.db_alias)
    except BaseException:
        if not committed:
            storage.delete(file_name)  # the record never committed: its file goes too
        raise
    return avatar


def avatar_check_record(*, avatar_id: int, trace_id: str) -> None:
    """A submission WeChat accepted: its trace_id kept, and the time its answer is due from now."""
    now = timezone.now()
    with transaction.atomic(using=require_current_tenant().db_alias):
        AvatarCheck.objects.create(avatar_id=avatar_id, trace_id=trace_id, submitted_at=now)
        Avatar.objects.filter(pk=avatar_id, status=Avatar.Status.PENDING).update(
            submissions=F("submissions") + 1, check_due_at=_check_due_from(now)
        )


def avatar_verdict_apply(*, check: AvatarCheck, suggest: str, label: str) -> Avatar:
    """WeChat's answer to one check. Only an upload still waiting changes; a replaced or decided one stays."""
    with transaction.atomic(using=require_current_tenant().db_alias):
        AvatarCheck.objects.filter(pk=check.pk, answered_at__isnull=True).update(answered_at=timezone.now())
        return _verdict_apply(avatar_id=check.avatar_id, suggest=suggest, label=label)


def avatar_decide(*, avatar_id: int, approve: bool) -> Avatar:
    """An operator's word on an upload WeChat left to a person (review) or never answered (unchecked)."""
    with transaction.atomic(using=require_current_tenant().db_alias):
        avatar = Avatar.objects.select_for_update().filter(pk=avatar_id).first()
        if avatar is None or avatar.status not in WAITING:
            raise AvatarNotWaiting(f"avatar {avatar_id} is not waiting for a decision")
        return _verdict_apply(avatar_id=avatar_id, suggest="pass" if approve else "risky", label="operator")


def _verdict_apply(*, avatar_id: int, suggest: str, label: str) -> Avatar:
    """pass, risky or review, applied to an upload that is still waiting (anything else is left as it is)."""
    with transaction.atomic(using=require_current_tenant().db_alias):
        avatar = Avatar.objects.select_for_update().select_related("user").get(pk=avatar_id)
        if avatar.status not in WAITING or suggest not in SUGGESTIONS:
            return avatar
        avatar.suggest, avatar.label, avatar.check_due_at = suggest, label[:32], None
        if suggest == "pass":
            _approve(avatar)
        elif suggest == "risky":
            avatar.status = Avatar.Status.REJECTED
            _forget_file(avatar)
        else:
            avatar.status = Avatar.Status.REVIEW
        avatar.save(update_fields=["status", "suggest", "label", "check_due_at", "file_name", "updated_at"])
    logger.info("avatar %s of user %s: %s (label %s)", avatar.pk, avatar.user_id, suggest, avatar.label)
    return avatar


def avatar_check_failed(*, check: AvatarCheck) -> None:
    """WeChat pushed an error instead of a verdict (it could not fetch the image, say): submitted again at once."""
    with transaction.atomic(using=require_current_tenant().db_alias):
        AvatarCheck.objects.filter(pk=check.pk).update(answered_at=timezone.now())
        Avatar.objects.filter(pk=check.avatar_id, status=Avatar.Status.PENDING).update(check_due_at=timezone.now())


def avatars_overdue_handle() -> dict[str, int]:
    """The active tenant's checks past their time: submitted again while retries are left, else `unchecked`."""
    tenant = require_current_tenant()
    now = timezone.now()
    retried = unchecked = 0
    with transaction.atomic(using=tenant.db_alias):
        overdue = Avatar.objects.select_for_update().filter(status=Avatar.Status.PENDING, check_due_at__lte=now)
        for avatar in overdue:
            if avatar.submissions <= settings.AVATARS_CHECK_RETRIES:
                # Due again later, so the next sweep leaves it alone while the job runs.
                avatar.check_due_at = _check_due_from(now)
                avatar.save(update_fields=["check_due_at", "updated_at"])
                enqueue(SUBMIT_JOB, avatar_id=avatar.pk)
                retried += 1
            else:
                avatar.status, avatar.check_due_at = Avatar.Status.UNCHECKED, None
                avatar.save(update_fields=["status", "check_due_at", "updated_at"])
                logger.warning("avatar %s: no answer from WeChat after %s checks", avatar.pk, avatar.submissions)
                unchecked += 1
    return {"retried": retried, "unchecked": unchecked}


def avatars_pending_remark() -> datetime | None:
    """Unmark the active tenant, then mark it again with its earliest due check, if any (see avatars.pending)."""
    app_id = require_current_tenant().app_id
    pending_unmark(app_id=app_id)
    due_at = Avatar.objects.filter(status=Avatar.Status.PENDING).aggregate(due=Min("check_due_at"))["due"]
    if due_at is not None:
        pending_mark(app_id=app_id, due_at=due_at)
    return due_at


def _check_due_from(moment: datetime) -> datetime:
    return moment + timedelta(seconds=settings.AVATARS_CHECK_TIMEOUT_SECONDS)


def _replace_waiting(*, user: MiniProgramUser) -> list[str]:
    """Older uploads still waiting become `replaced`; returns their files, deleted once the new one commits."""
    waiting = Avatar.objects.select_for_update().filter(user=user, status__in=WAITING)
    files = [name for name in waiting.values_list("file_name", flat=True) if name]
    waiting.update(status=Avatar.Status.REPLACED, file_name="", check_due_at=None, updated_at=timezone.now())
    return files


def _approve(avatar: Avatar) -> None:
    """This upload becomes the user's avatar; the one it replaces loses its file."""
    previous = Avatar.objects.select_for_update().filter(user=avatar.user, status=Avatar.Status.APPROVED)
    files = [name for name in previous.values_list("file_name", flat=True) if name]
    previous.update(status=Avatar.Status.REPLACED, file_name="", updated_at=timezone.now())
    avatar.status = Avatar.Status.APPROVED
    MiniProgramUser.objects.filter(pk=avatar.user_id).update(avatar_url=avatar.public_url, updated_at=timezone.now())
    transaction.on_commit(lambda: _files_delete(files), using=require_current_tenant().db_alias)


def _forget_file(avatar: Avatar) -> None:
    name, avatar.file_name = avatar.file_name, ""
    if name:
        transaction.on_commit(lambda: _files_delete([name]), using=require_current_tenant().db_alias)


def _files_delete(names: Iterable[str]) -> None:
    storage = avatar_storage()
    for name in names:
        try:
            storage.delete(name)
        except OSError as error:
            # The record says the file is gone; a leftover is a cost, not a leak of anything shown.
            logger.warning("avatars: could not delete %s: %s", name, error)
