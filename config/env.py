"""The one environment reader (django-environ) and the project's base directory.

Every setting that varies by environment is read through `env`; a variable with no default and no value
stops start-up with django-environ's ImproperlyConfigured("Set the X environment variable").
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# A .env file next to manage.py is read when present; real environment variables win over it.
if (BASE_DIR / ".env").is_file():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)


def set_defaults(defaults: dict[str, str]) -> None:
    """Give environment variables a default for one settings module (debug, test) before base reads them."""
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
