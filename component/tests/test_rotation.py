"""rotate_secrets_key moves the open platform's control-database secrets (the ticket, the authorizers' refresh
and access tokens) under the new key: with the old key removed afterwards, every one still decrypts."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from component.models import Authorizer, ComponentTicket
from tenants.secrets import secret_decrypt, secret_encrypt

pytestmark = pytest.mark.usefixtures("tenant_db")


def test_rotation_reencrypts_the_ticket_and_authorizer_tokens_so_they_read_without_the_old_key(settings):
    ComponentTicket.objects.create(component_app_id="wx0c00000000rotate", ticket_encrypted=secret_encrypt("ticket-1"))
    Authorizer.objects.create(
        app_id="wx00000000000rot01",
        refresh_token_encrypted=secret_encrypt("refresh-1"),
        access_token_encrypted=secret_encrypt("access-1"),
    )
    try:
        new_key = Fernet.generate_key().decode()
        settings.TENANT_SECRETS_KEYS = [new_key, *settings.TENANT_SECRETS_KEYS]
        out = StringIO()
        call_command("rotate_secrets_key", stdout=out)
        assert "component tickets: 1 re-encrypted" in out.getvalue()
        assert "authorizer refresh tokens: 1 re-encrypted" in out.getvalue()
        assert "authorizer access tokens: 1 re-encrypted" in out.getvalue()

        settings.TENANT_SECRETS_KEYS = [new_key]  # the old key removed
        ticket = ComponentTicket.objects.get(component_app_id="wx0c00000000rotate")
        authorizer = Authorizer.objects.get(app_id="wx00000000000rot01")
        assert secret_decrypt(ticket.ticket_encrypted) == "ticket-1"
        assert secret_decrypt(authorizer.refresh_token_encrypted) == "refresh-1"
        assert secret_decrypt(authorizer.access_token_encrypted) == "access-1"
    finally:
        ComponentTicket.objects.filter(component_app_id="wx0c00000000rotate").delete()
        Authorizer.objects.filter(app_id="wx00000000000rot01").delete()
