"""Check-in's errors, in the one JSON error shape (core.exceptions)."""

from core.exceptions import ApplicationError


class AlreadyCheckedIn(ApplicationError):
    code = "already_checked_in"
    message = "You have checked in today already; come back tomorrow."
    status = 409


class RewardNotFound(ApplicationError):
    code = "reward_not_found"
    message = "This mini-program has no reward with this code."
    status = 404


class NotAMember(ApplicationError):
    code = "not_a_member"
    message = "Check in once first."
    status = 404


class InvalidTimeZone(ApplicationError):
    code = "invalid_time_zone"
    message = "Not a time zone of the IANA database (for example Asia/Shanghai)."
    status = 400


class InvalidReward(ApplicationError):
    code = "invalid_reward"
    message = "A reward has a code of letters, digits, - and _ (at most 32), a title and a price of at least 1 fen."
    status = 400
