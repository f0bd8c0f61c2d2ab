"""Reading a push's fields the way WeChat really sends them (docs/pushes.md).

JSON pushes give `List` as an object when there is one item and as an array when there are several, and
CreateTime as a number where the documentation shows a string; XML gives every value as a string.
"""

import hashlib
from typing import Any


def as_list(value: Any) -> list[Any]:
    """An object or an array (or nothing) as a list."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def as_int(value: Any) -> int | None:
    """A number sent as a number or as a string; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def text(message: dict[str, Any], name: str) -> str:
    value = message.get(name)
    return "" if value is None or isinstance(value, dict | list) else str(value)


def push_dedup_key(message: dict[str, Any]) -> str:
    """What makes WeChat's retries of one push the same: MsgId, else sender + CreateTime + Event (+ trace_id).

    A media check's result names its trace_id: two results for one user in the same second are two pushes.
    """
    msg_id = text(message, "MsgId") or text(message, "MsgID")
    if msg_id:
        identity = f"msgid\0{msg_id}"
    else:
        parts = [text(message, "FromUserName"), str(as_int(message.get("CreateTime"))), text(message, "MsgType")]
        parts += [text(message, "Event"), text(message, "trace_id")]
        identity = "event\0" + "\0".join(parts)
    return hashlib.sha256(identity.encode()).hexdigest()
