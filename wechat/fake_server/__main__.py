"""Run the fake WeChat server for development: ``python -m wechat.fake_server --port 8765 --app wx1:secret``."""

from __future__ import annotations

import argparse
import threading

from wechat.fake_server.server import FakeWeChatServer


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wechat.fake_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--app", action="append", default=[], metavar="APPID:SECRET", help="register an app")
    parser.add_argument("--token-lifetime", type=int, default=7200, help="seconds an access_token lives")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted."""
    args = _parse_args(argv)
    apps = dict(item.split(":", 1) for item in args.app)
    server = FakeWeChatServer(host=args.host, port=args.port, apps=apps, token_lifetime=args.token_lifetime)
    print(f"fake WeChat server on {server.start()} (control API under /__control__/)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
