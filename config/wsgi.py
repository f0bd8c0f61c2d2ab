"""WSGI entry point for gunicorn; production runs config.settings.master."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.master")

application = get_wsgi_application()
