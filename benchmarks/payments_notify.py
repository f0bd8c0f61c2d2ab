"""WeChat Pay notifications handled per second by one process: the whole way of POST /pay/v1/notify/<app_id>/
transaction (middleware, the tenant looked up from the path, signature verified, resource decrypted, the order
locked and marked paid, the payment_succeeded job's outbox record written and pushed on commit), for new
payments and for repeats of them (WeChat's duplicates: verified, decrypted, found paid, 204).

    .venv/bin/python -m benchmarks.payments_notify [--orders 500] [--rounds 3]

It makes a namespace of its own (MySQL users, a control database and one tenant `mp_paynotifyb_...`, Redis keys
`miniplex-paynotifyb*`) with what `./dev test` set up, runs the fake WeChat Pay in the measuring process (it signs
and encrypts the notifications beforehand; building them is not measured), and drops everything afterwards. The
notifications go through Django's test client in one thread: the figure is one process's, without gunicorn's
HTTP parsing (a fleet multiplies it by its processes, or less where MySQL's row locks are the bound). Prints a
Markdown table and writes it with its data to benchmarks/results/<date>-payments-notify.{md,json}.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

APP_ID = "wx0c0c0c0c0c0c0c0c"
QUEUE = "bench-paynotify"


def measure(orders: int, rounds: int) -> dict:
    """In the child process (the namespace's settings): seconds per round, new payments and repeats."""
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from accounts.models import MiniProgramUser
    from core.tenant_context import activate_tenant
    from payments.fake_server import FakePayServer
    from payments.fake_server.testing import merchant_configure
    from payments.services import order_create
    from tenants.jobs import get_queue
    from tenants.selectors import tenant_resolve

    tenant = tenant_resolve(app_id=APP_ID)
    client = Client(SERVER_NAME="127.0.0.1")  # an address ALLOWED_HOSTS takes, as behind nginx
    seconds: dict[str, list[float]] = {"new": [], "repeat": []}
    server = FakePayServer()
    settings.WECHATPAY_API_BASE = server.start()
    try:
        merchant = merchant_configure(server, APP_ID)
        with activate_tenant(tenant):
            user, _ = MiniProgramUser.objects.get_or_create(openid="bench-paynotify-user")

            def batch(count: int) -> list[dict]:
                made = [order_create(user=user, amount=100, description="bench") for _ in range(count)]
                return [
                    server.control.notification(order.out_trade_no, mchid=merchant.mchid, appid=APP_ID, amount=100)
                    for order in made
                ]

            def post_all(built: list[dict]) -> float:
                started = time.perf_counter()
                for notification in built:
                    headers = {k: v for k, v in notification["headers"].items() if k.lower() != "content-type"}
                    response = client.post(
                        f"/pay/v1/notify/{APP_ID}/transaction",
                        notification["body"],
                        content_type="application/json",
                        headers=headers,
                    )
                    if response.status_code != 204:
                        raise RuntimeError(f"notification answered {response.status_code}: {response.content[:300]!r}")
                return time.perf_counter() - started

        with activate_tenant(tenant):
            warm = batch(30)  # connections, the merchant's keys loaded, code paths
        post_all(warm)
        for _ in range(rounds):
            with activate_tenant(tenant):
                built = batch(orders)
            seconds["new"].append(post_all(built))
            seconds["repeat"].append(post_all(built))
            get_queue().empty()
    finally:
        server.stop()
    return {"seconds": seconds}


def report(data: dict, orders: int) -> str:
    rows = []
    for kind, label in (("new", "new payment (pending -> paid, one job)"), ("repeat", "repeat (already paid)")):
        runs = data["seconds"][kind]
        rate = orders / statistics.median(runs)
        per_ms = 1000 * statistics.median(runs) / orders
        by_round = ", ".join(f"{orders / s:.0f}" for s in runs)
        rows.append(f"| {label} | {rate:.0f} | {per_ms:.2f} | {by_round} |")
    machine = data["machine"]
    return "\n".join(
        [
            f"# WeChat Pay notifications handled per second, one process ({data['date']})",
            "",
            f"Machine: {machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}, 1-minute load average "
            f"{machine['load_before']:.2f} before and {machine['load_after']:.2f} after. {orders} notifications per "
            f"kind and round, {len(data['seconds']['new'])} rounds; medians. One thread, Django's test client "
            "(no HTTP server): signature (RSA-2048) verified, resource (AES-256-GCM) decrypted, order row locked.",
            "",
            "| notification | per second | ms each | per second by round |",
            "|---|---:|---:|---|",
            *rows,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        json.dump(measure(args.orders, args.rounds), sys.stdout)
        return 0

    from benchmarks import stack

    ns = stack.Namespace("paynotifyb")
    stack.ensure_accounts(ns)
    env = stack.stack_env(ns, wechat_port=1, pool_size=4, JOBS_QUEUE=QUEUE, PAY_NOTIFY_BASE_URL="https://bench.test")
    try:
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        stack.manage(env, "create_tenant", APP_ID, "--name", "Payment notifications benchmark")
        load_before = os.getloadavg()[0]
        flags = ("--measure", "--orders", str(args.orders), "--rounds", str(args.rounds))
        data = json.loads(stack.run_module(env, "benchmarks.payments_notify", *flags, timeout=3600, what="measuring"))
    finally:
        stack.drop_namespace(ns)
    data["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["machine"] = {
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    text = report(data, args.orders)
    stem = stack.BASE_DIR / "benchmarks" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-payments-notify"
    Path(f"{stem}.json").write_text(json.dumps({**data, "orders": args.orders}, indent=1))
    Path(f"{stem}.md").write_text(text)
    print(text)
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
