"""The load generators: ApacheBench (`ab -t`, `ab -n`) and wrk, with their output parsed into one shape.

ab opens a new connection per request (HTTP/1.0, no -k, as the original measurement ran it) and counts as
"failed" any response whose length differs from the first one's ("Length"), besides connect, receive and
exception errors; `-r` keeps it going on receive errors so they are counted instead of ending the run.
wrk keeps connections alive (HTTP/1.1) and reports socket errors (connect, read, write, timeout) and
non-2xx/3xx responses. Either run is bounded by time or by a count.
"""

import re
import subprocess
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

WRK_SPREAD_SCRIPT = Path(__file__).with_name("wrk") / "spread.lua"


@dataclass
class Result:
    tool: str  # "ab -t", "ab -n" or "wrk"
    concurrency: int
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    mean_ms: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    # ab: connect, receive, length, exceptions; wrk: connect, read, write, timeout; both: non_2xx.
    failures: dict[str, int] = field(default_factory=dict)
    # From the server's access log: the statuses it logged for this run, and the distinct body lengths.
    statuses: dict[str, int] = field(default_factory=dict)
    body_lengths: dict[str, int] = field(default_factory=dict)
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def as_dict(self) -> dict:
        return asdict(self)


def _number(pattern: str, text: str, default: float = 0.0) -> float:
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else default


def parse_ab(text: str, tool: str, concurrency: int) -> Result:
    result = Result(tool=tool, concurrency=concurrency)
    result.requests = int(_number(r"^Complete requests:\s+(\d+)", text))
    result.seconds = _number(r"^Time taken for tests:\s+([\d.]+)", text)
    result.rps = _number(r"^Requests per second:\s+([\d.]+)", text)
    # The first "Time per request" is the mean latency of one request as a client sees it.
    result.mean_ms = _number(r"^Time per request:\s+([\d.]+) \[ms\] \(mean\)$", text)
    result.p50_ms = _number(r"^\s+50%\s+(\d+)", text)
    result.p99_ms = _number(r"^\s+99%\s+(\d+)", text)
    kinds = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)", text)
    if kinds:
        result.failures = dict(
            zip(("connect", "receive", "length", "exceptions"), map(int, kinds.groups()), strict=True)
        )
    else:
        result.failures = {"connect": 0, "receive": 0, "length": 0, "exceptions": 0}
    result.failures["non_2xx"] = int(_number(r"^Non-2xx responses:\s+(\d+)", text))
    result.extra["ab_failed_requests"] = int(_number(r"^Failed requests:\s+(\d+)", text))
    result.extra["document_length"] = int(_number(r"^Document Length:\s+(\d+)", text))
    return result


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _duration_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    return float(match.group(1)) * _UNITS_MS[match.group(2)] if match else 0.0


def parse_wrk(text: str, concurrency: int) -> Result:
    result = Result(tool="wrk", concurrency=concurrency)
    match = re.search(r"^\s+(\d+) requests in ([\d.]+)(us|ms|s|m),", text, re.MULTILINE)
    if match:
        result.requests = int(match.group(1))
        result.seconds = _duration_ms(match.group(2) + match.group(3)) / 1000
    result.rps = _number(r"^Requests/sec:\s+([\d.]+)", text)
    latency = re.search(r"^\s+Latency\s+(\S+)", text, re.MULTILINE)
    result.mean_ms = _duration_ms(latency.group(1)) if latency else 0.0
    for name, percent in (("p50_ms", "50"), ("p99_ms", "99")):
        found = re.search(rf"^\s+{percent}%\s+(\S+)", text, re.MULTILINE)
        setattr(result, name, _duration_ms(found.group(1)) if found else 0.0)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    counts = map(int, errors.groups()) if errors else (0, 0, 0, 0)
    result.failures = dict(zip(("connect", "read", "write", "timeout"), counts, strict=True))
    result.failures["non_2xx"] = int(_number(r"^\s+Non-2xx or 3xx responses:\s+(\d+)", text))
    return result


def run_ab(
    url: str, concurrency: int, headers: dict[str, str], *, seconds: float | None = None, count: int | None = None
) -> tuple[Result, str]:
    """`ab -t SECONDS -c C` or `ab -n COUNT -c C`; the parsed result and ab's own output."""
    argv = ["ab", "-r", "-c", str(concurrency), "-s", "30"]
    if seconds is not None:
        argv += ["-t", str(seconds)]
        tool = "ab -t"
    else:
        argv += ["-n", str(max(count or 0, concurrency))]
        tool = "ab -n"
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    limit = (seconds or 0) + 120 + (count or 0) / 20
    completed = _run_bounded([*argv, url], limit)
    output = completed.stdout + completed.stderr
    result = parse_ab(completed.stdout, tool, concurrency)
    if completed.returncode != 0:
        result.error = completed.stderr.strip()[-300:]
    return result, output


def _run_bounded(argv: list[str], limit: float) -> subprocess.CompletedProcess:
    """Runs a load generator; one that overruns its bound is a failed run of the report, not the end of it."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        return subprocess.CompletedProcess(argv, -1, output, f"{argv[0]} killed after {limit:.0f} s")


def run_wrk(
    url: str,
    concurrency: int,
    seconds: float,
    *,
    headers: dict[str, str] | None = None,
    spread_file: Path | None = None,
) -> tuple[Result, str]:
    """wrk -t1 -c C -d SECONDS --latency (whole seconds: wrk reads no fraction); with spread_file, each request
    takes the next (AppID, token) line."""
    duration = f"{max(1, round(seconds))}s"
    argv = ["wrk", "-t", "1", "-c", str(concurrency), "-d", duration, "--latency", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    if spread_file is not None:
        argv[1:1] = ["-s", str(WRK_SPREAD_SCRIPT)]
        argv += ["--", str(spread_file)]
    completed = _run_bounded(argv, seconds + 120)
    output = completed.stdout + completed.stderr
    result = parse_wrk(completed.stdout, concurrency)
    if completed.returncode != 0:
        result.error = completed.stderr.strip()[-300:]
    return result, output


# --- The server's side: the access log lines of one run --------------------------------------------------
_ACCESS_LINE = re.compile(r'" (\d{3}) (\S+) \d+ms$')


class AccessLog:
    """Reads the lines an access log gained since `mark()`: the statuses and body lengths gunicorn logged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def since_mark(self) -> tuple[Counter, Counter]:
        statuses: Counter = Counter()
        lengths: Counter = Counter()
        if not self.path.exists():
            return statuses, lengths
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            for raw in log:
                match = _ACCESS_LINE.search(raw.decode(errors="replace").rstrip())
                if match:
                    statuses[match.group(1)] += 1
                    lengths[match.group(2)] += 1
        return statuses, lengths
