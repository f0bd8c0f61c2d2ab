"""The embedded default: runs on a fresh machine with no MySQL and no Redis.

SQLite files under var/ (one control file, one per tenant), an in-process cache instead of Redis.
Any variable set in the environment (or .env) still wins, so the same module can point at real services.
"""

import os
from pathlib import Path

from config.env import BASE_DIR, set_defaults

# Where the SQLite files live; the embedded-default smoke test points it at a temporary directory.
VAR_DIR = Path(os.environ.get("MINIPLEX_VAR_DIR", BASE_DIR / "var"))
(VAR_DIR / "tenants").mkdir(parents=True, exist_ok=True)

set_defaults(
    {
        "DJANGO_DEBUG": "true",
        "TENANT_ENVIRONMENT": "debug",
        # Local development only; master has no default and refuses to start without one.
        "DJANGO_SECRET_KEY": "debug-only-not-secret-miniplex",
        "CONTROL_DATABASE_URL": f"sqlite:///{VAR_DIR / 'control.sqlite3'}",
        "TENANT_DB_MAIN_URL": f"sqlite:///{VAR_DIR / 'tenants'}",
        "TENANT_DB_MAIN_DDL_URL": f"sqlite:///{VAR_DIR / 'tenants'}",
        # A fixed development key (Fernet); never use it anywhere else.
        "TENANT_SECRETS_KEYS": "ZGVidWctb25seS1rZXktZm9yLW1pbmlwbGV4LWRldiE=",
        # ./dev serve runs the fake WeChat server here (wechat/fake_server), so login works offline.
        "WECHAT_API_BASE": "http://127.0.0.1:8765",
    }
)

from config.settings.base import *  # noqa: E402,F403
