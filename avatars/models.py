"""Users' avatars, checked by WeChat before anyone sees them: a tenant app."""
