"""A mini-program's users, one table per tenant database."""

from django.db import models


class MiniProgramUser(models.Model):
    """A WeChat user of one mini-program: the openid is per AppID, so the same person differs per tenant."""

    openid = models.CharField(max_length=64, unique=True)
    unionid = models.CharField(max_length=64, blank=True, default="", db_index=True)
    nickname = models.CharField(max_length=64, blank=True, default="")
    avatar_url = models.URLField(max_length=512, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.openid
