"""WeChat Pay orders, refunds and the price list: a tenant app (each tenant's own database)."""

import secrets

from django.db import models

# WeChat's out_trade_no and out_refund_no: 6-32 characters of [0-9A-Za-z_-|*]; ours are 128 random bits in hex,
# so nobody can guess another order's number (https://pay.weixin.qq.com/doc/v3/merchant/4012525182).
TRADE_NO_BYTES = 16


def new_trade_no() -> str:
    return secrets.token_hex(TRADE_NO_BYTES)


class Item(models.Model):
    """One entry of the tenant's price list: what `POST /api/v1/pay/orders {"item"}` sells, at this price."""

    code = models.SlugField(max_length=32, unique=True)
    description = models.CharField(max_length=127)  # WeChat's limit for a transaction's description
    amount = models.PositiveIntegerField(help_text="Price in fen (1/100 yuan).")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.amount} fen)"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        CLOSED = "closed"
        REFUNDING = "refunding"
        REFUNDED = "refunded"

    out_trade_no = models.CharField(max_length=32, unique=True, default=new_trade_no, editable=False)
    # Orders are money records: a user with orders cannot be deleted by accident.
    user = models.ForeignKey("accounts.MiniProgramUser", on_delete=models.PROTECT, related_name="orders")
    amount = models.PositiveIntegerField(help_text="In fen.")
    description = models.CharField(max_length=127)
    item_code = models.CharField(max_length=32, blank=True, default="")
    attach = models.CharField(max_length=128, blank=True, default="")  # WeChat's attach, given back as sent
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    transaction_id = models.CharField(max_length=32, blank=True, default="")  # WeChat's, once paid
    prepay_id = models.CharField(max_length=64, blank=True, default="")
    prepay_expires_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="Payable until then (time_expire at WeChat).")
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        # A Django permission on the orders' content type (in the control database like every content type):
        # the admin's and the platform API's refunds need it.
        permissions = [("refund_order", "Can refund WeChat Pay orders")]

    def __str__(self) -> str:
        return f"order {self.pk} {self.out_trade_no} ({self.status})"


class Refund(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing"  # asked, not settled: counts against what may still be refunded
        SUCCESS = "success"
        CLOSED = "closed"  # refused or closed by WeChat: frees its amount again
        ABNORMAL = "abnormal"  # WeChat could not pay it back (e.g. the user's card closed): needs a person

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    out_refund_no = models.CharField(max_length=64, unique=True, default=new_trade_no, editable=False)
    amount = models.PositiveIntegerField(help_text="In fen.")
    reason = models.CharField(max_length=80, blank=True, default="")  # WeChat's limit for a refund's reason
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROCESSING)
    refund_id = models.CharField(max_length=32, blank=True, default="")  # WeChat's
    requested_by = models.CharField(max_length=150, blank=True, default="")  # the staff user (audit has the rest)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"refund {self.pk} of order {self.order_id}: {self.amount} fen ({self.status})"
