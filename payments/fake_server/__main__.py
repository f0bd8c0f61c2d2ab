"""Run the fake WeChat Pay server for development: ``python -m payments.fake_server --port 8766``."""

from __future__ import annotations

import argparse
import threading

from payments.fake_server.server import FakePayServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m payments.fake_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args(argv)
    server = FakePayServer(host=args.host, port=args.port)
    print(f"fake WeChat Pay server on {server.start()} (control API under /__control__/)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
