"""Settings of open-platform mode (imported at the end of config.settings.base).

Miniplex as a WeChat Open Platform third-party platform (docs/open-platform.md): the component's AppID, its
AppSecret, and the Token and EncodingAESKey of its two push URLs. All four or none (component.checks, C001):
with none, open-platform mode is off and every tenant uses its own AppSecret.
"""

from config.env import env

WECHAT_COMPONENT_APPID = env("WECHAT_COMPONENT_APPID", default="")
WECHAT_COMPONENT_APPSECRET = env("WECHAT_COMPONENT_APPSECRET", default="")
WECHAT_COMPONENT_TOKEN = env("WECHAT_COMPONENT_TOKEN", default="")
WECHAT_COMPONENT_AES_KEY = env("WECHAT_COMPONENT_AES_KEY", default="")
# The host of the authorization pages (componentloginpage, bindcomponent): the fake WeChat server's in tests.
WECHAT_COMPONENT_PAGE_BASE = env("WECHAT_COMPONENT_PAGE_BASE", default="https://mp.weixin.qq.com")
# The public base URL of this deployment (https://api.example.com): the authorization page sends the owner's
# browser back to {WECHAT_COMPONENT_REDIRECT_BASE}/wechat/v1/component/authorized/<link>. Its host must be the
# platform's registered 授权发起页域名 (docs/open-platform.md).
WECHAT_COMPONENT_REDIRECT_BASE = env("WECHAT_COMPONENT_REDIRECT_BASE", default="http://127.0.0.1:8000")
