"""A mini-program's users and their API tokens, one set of tables per tenant database."""

from django.db import models

from tenants.secrets import secret_decrypt, secret_encrypt


class MiniProgramUser(models.Model):
    """A WeChat user of one mini-program: the openid is per AppID, so the same person differs per tenant."""

    openid = models.CharField(max_length=64, unique=True)
    unionid = models.CharField(max_length=64, blank=True, default="", db_index=True)
    nickname = models.CharField(max_length=64, blank=True, default="")
    avatar_url = models.URLField(max_length=512, blank=True, default="")
    phone = models.CharField(max_length=32, blank=True, default="")
    # The latest session_key WeChat gave at login, encrypted like the AppSecret (tenants.secrets: Fernet with
    # TENANT_SECRETS_KEYS): a copy of the database cannot decrypt users' data. Read and set through
    # `session_key`; kept on the server only, never serialized or logged.
    session_key_encrypted = models.CharField(max_length=255, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.openid

    @property
    def session_key(self) -> str:
        return secret_decrypt(self.session_key_encrypted) if self.session_key_encrypted else ""

    @session_key.setter
    def session_key(self, value: str) -> None:
        self.session_key_encrypted = secret_encrypt(value) if value else ""

    # What DRF's permissions ask of request.user.
    is_authenticated = True
    is_anonymous = False


class AuthToken(models.Model):
    """An API token of one user. Living in the tenant's database, it cannot authenticate under another AppID.

    Only the SHA-256 of the token is stored, so a copy of the database holds no usable token.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(MiniProgramUser, on_delete=models.CASCADE, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"token of user {self.user_id}"


class UserJob(models.Model):
    """A background job enqueued by a user's request: GET /api/v1/jobs/<id> shows it to that user only.

    Kept in the tenant's database, written in the transaction that enqueues the job, so the tenant's own
    data says whose job it is: a retired tenant's or a restored database's rows cannot name another person
    (a user id in the job's Redis record could, once ids start again at 1).
    """

    job_id = models.CharField(primary_key=True, max_length=32)
    user = models.ForeignKey(MiniProgramUser, on_delete=models.CASCADE, related_name="jobs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"job {self.job_id} of user {self.user_id}"
