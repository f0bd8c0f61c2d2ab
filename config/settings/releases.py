"""Settings of template releases (imported at the end of config.settings.base; docs/template-releases.md)."""

from config.env import env

# How long a job owns a release target once it took it: longer than the slowest WeChat call (WECHAT_TIMEOUT_SECONDS),
# so no second job can start while the first still waits for an answer; a killed job's target is free after it.
RELEASES_LEASE_SECONDS = env.int("RELEASES_LEASE_SECONDS", default=120)
# How often the periodic job looks for targets with something to do (waits that ended, audits to poll, lost jobs).
RELEASES_TICK_SECONDS = env.int("RELEASES_TICK_SECONDS", default=60)
# get_auditstatus polls between pushes: audits take hours to days, and the weapp_audit_* push usually comes first.
RELEASES_AUDIT_POLL_SECONDS = env.int("RELEASES_AUDIT_POLL_SECONDS", default=1800)
# 61039: WeChat's privacy check of a fresh commit takes a few minutes; submit again after this, at most this often.
RELEASES_PRIVACY_RETRY_SECONDS = env.int("RELEASES_PRIVACY_RETRY_SECONDS", default=60)
RELEASES_PRIVACY_MAX_TRIES = env.int("RELEASES_PRIVACY_MAX_TRIES", default=30)
# 85009: another version of the mini-program is being audited; submit again after this.
RELEASES_BUSY_RETRY_SECONDS = env.int("RELEASES_BUSY_RETRY_SECONDS", default=3600)
# How many targets one pass of the periodic job hands to workers (the rest wait for the next pass).
RELEASES_TICK_BATCH = env.int("RELEASES_TICK_BATCH", default=500)
