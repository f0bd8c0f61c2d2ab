"""`st` (schemathesis' command), with one guard against a bug of CPython 3.11.7 that it trips over.

To name a filter in its reprs, hypothesis parses the source of the lambda's module; called deep inside
schemathesis' coverage phase, CPython 3.11.7's AST constructor raises "SystemError: AST constructor recursion
depth mismatch" (fixed in later CPython releases), which schemathesis reports as a runtime error of the run.
The description is only text for a repr: where it fails, a plain one is used.
"""

import sys

from hypothesis.internal import lambda_sources
from schemathesis.cli import schemathesis

_describe = lambda_sources.lambda_description


def _lambda_description(f: object) -> str:
    try:
        return _describe(f)
    except SystemError:
        return "lambda"


lambda_sources.lambda_description = _lambda_description

if __name__ == "__main__":
    sys.exit(schemathesis())
