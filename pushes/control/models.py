"""Each tenant's push settings (Token, EncodingAESKey, mode, format): in the control database."""
