"""A component tenant's WeChat client: login through the component's jscode2session (no AppSecret)."""

from component.client import AuthorizerClient
from component.tokens import authorizer_call, component_call, component_client
from wechat.client import SessionInfo, WeChatClient


def authorizer_client_for(app_id: str) -> WeChatClient:
    def session_exchange(code: str) -> SessionInfo:
        client = component_client()
        return authorizer_call(
            app_id, lambda: component_call(lambda token: client.code_to_session(token, app_id=app_id, code=code))
        )

    return AuthorizerClient(app_id, session_exchange=session_exchange)
