"""The one WeChat API avatars call: media_check_async (docs/avatars.md), through the tenant's WeChatClient.

https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_mediacheckasync : the answer is
pushed within 30 minutes as the `wxa_media_check` event; limits 2,000 calls a minute, 200,000 a day, 10 MB a file.
"""

from wechat import WeChatClient
from wechat.exceptions import WeChatUnavailable

PATH = "/wxa/media_check_async"
MEDIA_TYPE_IMAGE = 2  # 1 is audio
SCENE_PROFILE = 1  # scenes: 1 profile, 2 comment, 3 forum, 4 social log
VERSION = 2


def media_check_async(client: WeChatClient, access_token: str, *, openid: str, media_url: str) -> str:
    """Asks WeChat to check the image at media_url (it fetches it); returns the trace_id its pushed answer names.

    The openid must be a user of this mini-program who visited it within the last two hours (WeChat's rule).
    """
    body = {
        "media_url": media_url,
        "media_type": MEDIA_TYPE_IMAGE,
        "version": VERSION,
        "scene": SCENE_PROFILE,
        "openid": openid,
    }
    payload = client.call("POST", PATH, params={"access_token": access_token}, body=body)
    trace_id = payload.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise WeChatUnavailable(f"{PATH}: answer has no trace_id")
    return trace_id
