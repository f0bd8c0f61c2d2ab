"""`python -m benchmarks`: the sweep (benchmarks.run), or `--targets` / `--consolidation`, which build on the
sweep's stack (benchmarks.run.prepared_miniplex) and so are dispatched here rather than from benchmarks.run."""

import signal
import sys

from benchmarks import consolidation, run, stack, targets


def main(argv: list[str] | None = None) -> int:
    args = run.parse_args(argv)
    if args.cleanup or not (args.mode in ("targets", "consolidation") or args.smoke_of):
        return run.main(argv)
    command = args.smoke_of or args.mode
    if args.smoke_of:
        args.mode = "smoke"
    # A TERM (a timeout, a supervisor) unwinds like Ctrl-C, so every server started is stopped in `finally`.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    stack.ensure_tools()
    return (targets.main if command == "targets" else consolidation.main)(args)


if __name__ == "__main__":
    raise SystemExit(main())
