from django.apps import AppConfig

USERS_SHOWN = 100  # the newest users on a tenant's Users page in the admin


class AccountsConfig(AppConfig):
    """The mini-program's users: a tenant app, so its tables live in every tenant's own database."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What the operators' console shows of this app for each tenant (console.registry): the number of users
        # among the tenant's facts, and a Users page. The console reads both with the tenant active.
        from accounts.models import MiniProgramUser
        from console.registry import register_tenant_fact, register_tenant_page
        from tenants.secret_rotation import register_encrypted_field

        register_tenant_fact(name="users", read=MiniProgramUser.objects.count)
        register_tenant_page(name="users", label="Users", template="accounts/tenant_users.html", read=_newest_users)
        # Each user's session_key is a Fernet value under TENANT_SECRETS_KEYS: rotate_secrets_key re-encrypts it.
        register_encrypted_field(model=MiniProgramUser, field="session_key_encrypted", label="session keys")


def _newest_users() -> dict[str, object]:
    from accounts.models import MiniProgramUser

    return {"users": list(MiniProgramUser.objects.order_by("-id")[:USERS_SHOWN])}
