import pickle

import pytest

from wechat import exceptions as exc
from wechat.exceptions import error_for

ERRCODE_CLASSES = [
    (-1, exc.WeChatBusy),
    (40029, exc.WeChatCodeInvalid),
    (40163, exc.WeChatCodeInvalid),
    (45011, exc.WeChatRateLimited),
    (45009, exc.WeChatQuotaExceeded),
    (40226, exc.WeChatUserBlocked),
    (40001, exc.WeChatTokenInvalid),
    (40014, exc.WeChatTokenInvalid),
    (42001, exc.WeChatTokenInvalid),
    (40013, exc.WeChatAppIdInvalid),
    (40125, exc.WeChatSecretInvalid),
    (40164, exc.WeChatIpNotAllowed),
    (89503, exc.WeChatRiskyIp),
    (43101, exc.WeChatSubscribeRefused),
    (40003, exc.WeChatOpenIdInvalid),
    (40037, exc.WeChatTemplateInvalid),
    (47003, exc.WeChatArgumentInvalid),
    (41030, exc.WeChatPageInvalid),
    (43104, exc.WeChatOpenIdMismatch),
    (40129, exc.WeChatSceneInvalid),
    (47001, exc.WeChatMalformedRequest),
]


@pytest.mark.parametrize(("errcode", "cls"), ERRCODE_CLASSES)
def test_error_for_picks_the_class_of_each_errcode(errcode: int, cls: type[exc.WeChatError]) -> None:
    error = error_for(errcode, "some message")
    assert type(error) is cls
    assert (error.errcode, error.errmsg) == (errcode, "some message")
    assert str(errcode) in str(error)


def test_unknown_errcode_gives_plain_not_retryable_error() -> None:
    error = error_for(99999, "new in WeChat")
    assert type(error) is exc.WeChatError
    assert error.retryable is False


@pytest.mark.parametrize(("errcode", "cls"), ERRCODE_CLASSES)
def test_only_busy_is_retryable_among_errcodes(errcode: int, cls: type[exc.WeChatError]) -> None:
    assert error_for(errcode, "").retryable is (cls is exc.WeChatBusy)


def test_unavailable_is_retryable_and_has_no_errcode() -> None:
    error = exc.WeChatUnavailable("time-out")
    assert error.retryable is True
    assert error.errcode is None


@pytest.mark.parametrize("errcode", [40013, 40125, 40164, 89503])
def test_configuration_errors_share_a_base_class(errcode: int) -> None:
    assert isinstance(error_for(errcode, ""), exc.WeChatConfigError)


@pytest.mark.parametrize("error", [error_for(40029, "invalid code"), exc.WeChatUnavailable("HTTP 502")])
def test_errors_survive_pickling(error: exc.WeChatError) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is type(error)
    assert (copy.errcode, copy.errmsg) == (error.errcode, error.errmsg)
