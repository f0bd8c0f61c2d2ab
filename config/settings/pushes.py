"""Settings of pushes (imported at the end of config.settings.base)."""

from config.env import env

# A push body larger than this is refused (413) before it is parsed: WeChat's pushes are a few KiB at most.
PUSH_MAX_BODY_BYTES = env.int("PUSH_MAX_BODY_BYTES", default=64 * 1024)
# A push whose timestamp is further than this from our clock is refused: a captured push cannot be replayed later.
PUSH_TIMESTAMP_TOLERANCE_SECONDS = env.int("PUSH_TIMESTAMP_TOLERANCE_SECONDS", default=300)
# Customer-service messages kept per tenant are read newest first, at most this many per page.
PUSH_MESSAGES_PAGE_SIZE = env.int("PUSH_MESSAGES_PAGE_SIZE", default=100)
# Push records (what arrived, and the dedup keys that keep WeChat's retries out) are deleted after this many days.
PUSH_RECORD_KEEP_DAYS = env.int("PUSH_RECORD_KEEP_DAYS", default=7)
