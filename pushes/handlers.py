"""What runs for each kind of push: kind is the Event of an event push, else its MsgType.

Apps register a handler by dotted path in their AppConfig.ready() (avatars: "wxa_media_check"; the open
platform's releases: "weapp_audit_success", ...). The handler runs in a tenant job with the push's message as
a dict (the fields as WeChat sent them: strings from XML, JSON's own types from JSON), the tenant active, at
least once: it must be idempotent. A kind no one registered is recorded and acknowledged.
"""

from typing import Any

from django.utils.module_loading import import_string

_handlers: dict[str, str] = {}


def register_push_handler(kind: str, func_path: str) -> None:
    """func_path names `def handler(message: dict[str, Any]) -> None`; one handler per kind (ValueError else)."""
    current = _handlers.get(kind)
    if current is not None and current != func_path:
        raise ValueError(f"push kind {kind!r} is handled by {current} already")
    _handlers[kind] = func_path


def push_handler_path(kind: str) -> str | None:
    return _handlers.get(kind)


def push_handler_call(kind: str, message: dict[str, Any]) -> bool:
    """Calls the kind's handler; False when no one registered one."""
    path = _handlers.get(kind)
    if path is None:
        return False
    import_string(path)(message)
    return True


def push_kind(message: dict[str, Any]) -> str:
    """A push's kind: its Event for MsgType "event", else its MsgType ("" when it has neither)."""
    msg_type = str(message.get("MsgType") or "")
    if msg_type == "event":
        return str(message.get("Event") or "")
    return msg_type
