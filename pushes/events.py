"""The handlers pushes registers itself: subscription prompts and changes, send results, customer service.

Each runs in the push's tenant job (pushes.jobs), with the message as WeChat sent it (pushes.messages reads
its List and CreateTime whichever way they came).
"""

from typing import Any

from pushes.messages import as_int, as_list, text
from pushes.models import CustomerMessage, SubscriptionState

# Kind -> the element that wraps List in XML (JSON puts List at the top).
SUBSCRIPTION_WRAPPERS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}
CUSTOMER_SERVICE_KINDS = ("text", "image", "miniprogrampage", "user_enter_tempsession")
# What a person reads first of each customer-service kind.
CONTENT_FIELDS = {
    "text": "Content",
    "image": "PicUrl",
    "miniprogrampage": "Title",
    "user_enter_tempsession": "SessionFrom",
}


def subscription_items(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The List of a subscribe_msg_* push: at the top (JSON) or inside its wrapper (XML), object or array."""
    if "List" in message:
        items = message["List"]
    else:
        wrapper = message.get(SUBSCRIPTION_WRAPPERS[kind])
        items = wrapper.get("List") if isinstance(wrapper, dict) else None
    return [item for item in as_list(items) if isinstance(item, dict) and text(item, "TemplateId")]


def _state(openid: str, template_id: str) -> SubscriptionState:
    state = SubscriptionState.objects.select_for_update().filter(openid=openid, template_id=template_id).first()
    return state or SubscriptionState(openid=openid, template_id=template_id, status=SubscriptionState.Status.ACCEPT)


def subscribe_popup_handle(message: dict[str, Any]) -> None:
    """The user answered a subscription prompt: accept grants one more send, reject refuses the template."""
    _answers_apply(message, "subscribe_msg_popup_event", grants=True)


def subscribe_change_handle(message: dict[str, Any]) -> None:
    """The user changed a template in the mini-program's settings (WeChat pushes only the rejects)."""
    _answers_apply(message, "subscribe_msg_change_event", grants=False)


def _answers_apply(message: dict[str, Any], kind: str, *, grants: bool) -> None:
    openid, event_time = text(message, "FromUserName"), as_int(message.get("CreateTime"))
    for item in subscription_items(message, kind):
        answer = text(item, "SubscribeStatusString")
        if answer not in SubscriptionState.Status.values:
            continue
        state = _state(openid, text(item, "TemplateId"))
        if _older(event_time, state.event_time):
            continue  # a late delivery (or WeChat's retry) of an answer the user has since changed
        state.status = answer
        if answer == SubscriptionState.Status.ACCEPT:
            state.remaining += 1 if grants else 0
        else:
            state.remaining = 0
        state.event_time = event_time
        state.save()


def subscribe_sent_handle(message: dict[str, Any]) -> None:
    """WeChat's word on a send: success uses up one granted send; a failure is kept as the last error."""
    openid, event_time = text(message, "FromUserName"), as_int(message.get("CreateTime"))
    for item in subscription_items(message, "subscribe_msg_sent_event"):
        state = _state(openid, text(item, "TemplateId"))
        error_code = as_int(item.get("ErrorCode"))
        if error_code == 0:
            state.sent += 1
            state.remaining = max(state.remaining - 1, 0)
            state.last_error = ""
        else:
            state.last_error = f"{error_code}: {text(item, 'ErrorStatus')}"[:128]
        # A send happened whenever its result comes; it does not make an older answer the newest.
        if not _older(event_time, state.event_time):
            state.event_time = event_time
        state.save()


def _older(event_time: int | None, stored: int | None) -> bool:
    """Whether a push's CreateTime is before the latest one applied (same second: not older, it is applied)."""
    return event_time is not None and stored is not None and event_time < stored


def customer_message_handle(message: dict[str, Any]) -> None:
    """A customer-service message or session event, kept for the tenant's people (platform API)."""
    kind = text(message, "MsgType")
    if kind == "event":
        kind = text(message, "Event")
    CustomerMessage.objects.create(
        openid=text(message, "FromUserName")[:64],
        kind=kind[:64],
        msg_id=(text(message, "MsgId") or text(message, "MsgID"))[:64],
        content=text(message, CONTENT_FIELDS.get(kind, "Content")),
        fields={key: value for key, value in message.items() if key != "ToUserName"},
        create_time=as_int(message.get("CreateTime")),
    )


BUILTIN_HANDLERS = {
    "subscribe_msg_popup_event": "pushes.events.subscribe_popup_handle",
    "subscribe_msg_change_event": "pushes.events.subscribe_change_handle",
    "subscribe_msg_sent_event": "pushes.events.subscribe_sent_handle",
    **{kind: "pushes.events.customer_message_handle" for kind in CUSTOMER_SERVICE_KINDS},
}
