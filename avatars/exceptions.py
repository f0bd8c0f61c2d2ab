"""Why an upload cannot be an avatar: 400s in the API's one JSON error shape."""

from core.exceptions import ApplicationError


class AvatarInvalid(ApplicationError):
    code = "avatar_invalid"
    message = "The file is not a JPEG, PNG or WebP image."
    status = 400


class AvatarTooLarge(ApplicationError):
    code = "avatar_too_large"
    message = "The image is larger than avatars may be (bytes or pixels)."
    status = 400


class AvatarFileMissing(ApplicationError):
    code = "avatar_file_missing"
    message = "Send the image as the multipart field `file`."
    status = 400


class AvatarNotWaiting(ApplicationError):
    code = "avatar_not_waiting"
    message = "This avatar is not waiting for a decision."
    status = 409
