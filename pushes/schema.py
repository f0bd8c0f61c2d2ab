"""Naming the errors a view method answers, for the OpenAPI schema's one error shape.

api.schema.TenantAutoSchema (every view's schema class, from REST_FRAMEWORK) documents the ApplicationError
classes a method lists in the attribute `_api_errors`, which api.schema.api_errors sets. pushes sits below
api in the rooms (api -> avatars -> pushes), so it cannot import that decorator, and sets the attribute here.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from core.exceptions import ApplicationError

ERRORS_ATTRIBUTE = "_api_errors"  # api.schema.ERRORS_ATTRIBUTE
Method = TypeVar("Method", bound=Callable[..., Any])


def documented_errors(*errors: type[ApplicationError]) -> Callable[[Method], Method]:
    def decorate(method: Method) -> Method:
        setattr(method, ERRORS_ATTRIBUTE, (*getattr(method, ERRORS_ATTRIBUTE, ()), *errors))
        return method

    return decorate
