"""The fake WeChat server: templates."""

from collections.abc import Callable
from typing import Any

from wechat.fake_server.endpoints import FakeRequest
from wechat.fake_server.state import FakeState

Handler = Callable[[FakeState, FakeRequest], dict[str, Any]]

# WeChat API endpoints of this part: (method, path) -> handler; merged into endpoints.ROUTES by server.py.
ROUTES: dict[tuple[str, str], Handler] = {}
# Control calls of this part: (method, control.CONTROL_PREFIX + name) -> handler; merged into control.CONTROL_ROUTES.
CONTROL_ROUTES: dict[tuple[str, str], Handler] = {}
