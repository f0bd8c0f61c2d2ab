"""WeChat's pushes received and handled per second by one process: POST /wechat/v1/push/<app_id> (the tenant's
push settings read, the msg_signature checked, the ciphertext decrypted, the AppID compared, the push recorded
under its dedup key with its job's outbox record, pushed to the queue on commit), for new pushes and for WeChat's
retries of them (verified, decrypted, found recorded: "success"), then the jobs that apply them
(subscribe_msg_popup_event: each user's subscription state).

    .venv/bin/python -m benchmarks.pushes_receive [--pushes 500] [--rounds 3]

A namespace of its own (MySQL users, a control database and one tenant `mp_pushesb_...`, Redis keys
`miniplex-pushesb*`), dropped afterwards. The pushes are built beforehand by the fake WeChat's push_build (safe
mode, JSON) and posted through Django's test client in one thread: one process's figure, without gunicorn's
HTTP parsing. The jobs run in an rq SimpleWorker in the same process (no fork per job). Prints a Markdown table
and writes it with its data to benchmarks/results/<date>-pushes-receive.{md,json}.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

APP_ID = "wx0d0d0d0d0d0d0d0d"
QUEUE = "bench-pushes"
TOKEN = "benchPushToken"  # noqa: S105 - the benchmark tenant's own
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def measure(pushes: int, rounds: int) -> dict:
    """In the child process (the namespace's settings): seconds per round of each kind."""
    import django

    django.setup()
    from django.test import Client
    from rq import SimpleWorker

    from pushes.control.services import PushSettingsChange, push_settings_set
    from tenants.jobs import TenantJob, get_connection, get_queue
    from wechat.fake_server.push import PushTarget, push_build

    change = PushSettingsChange(token=TOKEN, aes_key=AES_KEY, mode="safe", format="json")
    push_settings_set(app_id=APP_ID, change=change)
    path = f"/wechat/v1/push/{APP_ID}"
    target = PushTarget(app_id=APP_ID, url=path, token=TOKEN, aes_key=AES_KEY, mode="safe", format="json")
    client = Client(SERVER_NAME="127.0.0.1")

    def batch(count: int) -> list[dict]:
        now = int(time.time())
        return [
            {
                "ToUserName": "gh_bench",
                "FromUserName": f"o-bench-{uuid.uuid4().hex[:8]}",
                "CreateTime": now,
                "MsgType": "event",
                "Event": "subscribe_msg_popup_event",
                "List": {"TemplateId": "tmpl-bench", "SubscribeStatusString": "accept", "PopupScene": "0"},
            }
            for _ in range(count)
        ]

    def post_all(messages: list[dict]) -> float:
        built = [push_build(target, message) for message in messages]  # signing and encrypting: not measured
        started = time.perf_counter()
        for request in built:
            response = client.generic("POST", request.url, request.body, content_type=request.content_type)
            if response.content != b"success":
                raise RuntimeError(f"push answered {response.status_code}: {response.content[:300]!r}")
        return time.perf_counter() - started

    def work_off() -> float:
        worker = SimpleWorker([get_queue()], connection=get_connection(), job_class=TenantJob)
        started = time.perf_counter()
        worker.work(burst=True, with_scheduler=False)
        return time.perf_counter() - started

    seconds: dict[str, list[float]] = {"new": [], "repeat": [], "handled": []}
    warm = batch(30)
    post_all(warm)
    work_off()
    for _ in range(rounds):
        messages = batch(pushes)
        seconds["new"].append(post_all(messages))
        seconds["repeat"].append(post_all(messages))
        seconds["handled"].append(work_off())
    return {"seconds": seconds}


LABELS = {
    "new": "new push received (verified, decrypted, recorded, job on commit)",
    "repeat": "WeChat's retry of it (verified, decrypted, found recorded)",
    "handled": "its job run (subscription state written)",
}


def report(data: dict, pushes: int) -> str:
    rows = []
    for kind, label in LABELS.items():
        runs = data["seconds"][kind]
        rate = pushes / statistics.median(runs)
        by_round = ", ".join(f"{pushes / s:.0f}" for s in runs)
        rows.append(f"| {label} | {rate:.0f} | {1000 * statistics.median(runs) / pushes:.2f} | {by_round} |")
    machine = data["machine"]
    return "\n".join(
        [
            f"# WeChat's pushes received and handled per second, one process ({data['date']})",
            "",
            f"Machine: {machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}, 1-minute load average "
            f"{machine['load_before']:.2f} before and {machine['load_after']:.2f} after. {pushes} pushes per kind "
            f"and round, {len(data['seconds']['new'])} rounds; medians. Safe mode, JSON. One thread, Django's test "
            "client (no HTTP server); jobs in an in-process rq SimpleWorker.",
            "",
            "| step | per second | ms each | per second by round |",
            "|---|---:|---:|---|",
            *rows,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        json.dump(measure(args.pushes, args.rounds), sys.stdout)
        return 0

    from benchmarks import stack

    ns = stack.Namespace("pushesb")
    stack.ensure_accounts(ns)
    env = stack.stack_env(ns, wechat_port=1, pool_size=4, JOBS_QUEUE=QUEUE)
    try:
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        stack.manage(env, "create_tenant", APP_ID, "--name", "Pushes benchmark")
        load_before = os.getloadavg()[0]
        flags = ("--measure", "--pushes", str(args.pushes), "--rounds", str(args.rounds))
        data = json.loads(stack.run_module(env, "benchmarks.pushes_receive", *flags, timeout=3600, what="measuring"))
    finally:
        stack.drop_namespace(ns)
    data["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["machine"] = {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    text = report(data, args.pushes)
    stem = stack.BASE_DIR / "benchmarks" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-pushes-receive"
    Path(f"{stem}.json").write_text(json.dumps({**data, "pushes": args.pushes}, indent=1))
    Path(f"{stem}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
