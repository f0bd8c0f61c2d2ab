"""What a locked-out admin login gets (django-axes' AXES_LOCKOUT_CALLABLE): 429 with Retry-After.

A browser gets a short page in the admin's look; a client asking for JSON gets the API's error shape.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

CODE = "login_locked"


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: Any) -> HttpResponse:
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = f"Too many failed logins: try again in {seconds // 60} minutes, or ask a platform admin to unlock it."
    if "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"error": {"code": CODE, "message": message}}, status=429)
    else:
        context = {"title": "Login locked", "message": message, "site_header": "Miniplex administration"}
        response = TemplateResponse(request, "console/locked_out.html", context, status=429).render()
    response["Retry-After"] = str(seconds)
    return response
