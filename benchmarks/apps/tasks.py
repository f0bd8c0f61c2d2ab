"""The job both kinds of the jobs benchmark run (imported by the workers, so not in a __main__ module)."""


def noop(n: int) -> int:
    """Nothing: what is measured is the queue and the worker around the job."""
    return n
