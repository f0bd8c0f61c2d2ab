"""deploy/gunicorn.conf.py's escaping of client-supplied access-log values: the fast path (a regex that passes a
value with nothing to escape) answers exactly what the character loop answers, for every kind of character."""

import os
import random
import runpy
import time

from tests.helpers import BASE_DIR


def _load_config() -> dict:
    # The config sets the process's TZ as it loads (for gunicorn's master): put this test process's back.
    zone = os.environ.get("TZ")
    try:
        return runpy.run_path(str(BASE_DIR / "deploy" / "gunicorn.conf.py"))
    finally:
        if zone is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = zone
        time.tzset()


CONFIG = _load_config()
escape, by_the_loop = CONFIG["escape_log_value"], CONFIG["escape_each_character"]


def test_the_fast_path_and_the_loop_agree_on_random_values():
    rng = random.Random(19)
    alphabet = [chr(code) for code in range(0, 0x80)] + ["é", "☕", "\u2028", "\x85"]
    for _ in range(5000):
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for quoted in (False, True):
            assert escape(value, quoted=quoted) == by_the_loop(value, quoted=quoted), (value, quoted)


def test_values_a_client_could_forge_fields_with_are_escaped():
    assert escape("wx0123456789abcdef client=10.0.0.1") == "wx0123456789abcdef\\x20client=10.0.0.1"
    assert escape('GET /a" 200', quoted=True) == 'GET /a\\" 200'
    assert escape("wx0123456789abcdef") == "wx0123456789abcdef"
