"""Reading a push's fields the way WeChat really sends them (docs/pushes.md).

JSON pushes give `List` as an object when there is one item and as an array when there are several, and
CreateTime as a number where the documentation shows a string; XML gives every value as a string.
"""

import hashlib
import json
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


# The longest value the tables keep of each field (pushes.models, avatars' trace_id); WeChat's own are far shorter.
FIELD_LIMITS = {
    "ToUserName": 64,
    "FromUserName": 64,
    "MsgType": 64,
    "Event": 64,
    "MsgId": 64,
    "MsgID": 64,
    "trace_id": 128,
    "TemplateId": 128,
}
BIGINT_MAX = 2**63 - 1


def out_of_bounds(message: dict[str, Any]) -> str | None:
    """The first field no table can keep (too long, or a CreateTime no BIGINT holds), or None.

    Only WeChat can sign such a push; it is recorded as ignored rather than failing its job for ever.
    """
    items = [message, *(item for item in _list_items(message) if isinstance(item, dict))]
    for fields in items:
        for name, limit in FIELD_LIMITS.items():
            if len(text(fields, name)) > limit:
                return name
    create_time = as_int(message.get("CreateTime"))
    if create_time is not None and not 0 <= create_time <= BIGINT_MAX:
        return "CreateTime"
    return None


def _list_items(message: dict[str, Any]) -> list[Any]:
    """The List items of a subscribe_msg_* push wherever they are (top level in JSON, in a wrapper in XML)."""
    found = as_list(message.get("List"))
    for value in message.values():
        if isinstance(value, dict):
            found += as_list(value.get("List"))
    return found


def push_dedup_key(message: dict[str, Any]) -> str:
    """What makes WeChat's retries of one push the same, and two pushes different: MsgId, else the content.

    WeChat retries a push with the same content (only the query's timestamp and nonce change), so without a
    MsgId the whole message is the identity: two subscribe_msg_sent_event for one user in one second differ in
    their List (TemplateId, MsgID), two session events in their fields. CreateTime is read as a number, as
    JSON and XML give it differently.
    """
    msg_id = text(message, "MsgId") or text(message, "MsgID")
    if msg_id:
        identity = f"msgid\0{msg_id}"
    else:
        canonical = {**message, "CreateTime": as_int(message.get("CreateTime"))}
        identity = "content\0" + json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(identity.encode()).hexdigest()
