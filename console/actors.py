"""Who is acting, and through which door: a request of the admin or the API, or a management command."""

import getpass
import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any

from console.models import AuditEntry
from core.client_address import client_address


@dataclass(frozen=True)
class Actor:
    username: str
    user_id: int | None
    door: str
    address: str
    details: dict[str, Any]


def actor_from_request(request: Any, *, door: str) -> Actor:
    """The logged-in user and the client's address (the hop our proxies vouch for: TRUSTED_PROXY_COUNT)."""
    user = request.user
    return Actor(
        username=user.get_username(),
        user_id=user.pk,
        door=door,
        address=_ip_or_blank(client_address(request)),
        details={},
    )


def actor_from_command() -> Actor:
    """A command runs as an OS login on a host; over SSH the client's address is in SSH_CONNECTION."""
    ssh = os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT") or ""
    return Actor(
        username=_os_login(),
        user_id=None,
        door=AuditEntry.Door.COMMAND,
        address=_ip_or_blank(ssh.split(" ")[0]),
        details={"host": socket.gethostname()},
    )


def _os_login() -> str:
    # sudo keeps the person's own login in SUDO_USER; getpass reads LOGNAME/USER, then the password database.
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = f"uid:{os.getuid()}"
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (sudo {login})" if sudo and sudo != login else login


def _ip_or_blank(value: str) -> str:
    # Only a well-formed address is recorded: the field must never take a client's arbitrary text.
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return ""
