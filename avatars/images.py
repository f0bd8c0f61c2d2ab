"""An uploaded image, checked and made clean: its type read from its bytes, its size bounded, its metadata gone.

The client's content type and file name are never believed: Pillow reads the format from the data. The width and
height come from the header, before a single pixel is decoded, so a small file that would unpack to gigabytes (a
decompression bomb) is refused unopened. The pixels are then copied into a new image and encoded again, which
leaves behind EXIF (GPS position, camera), XMP, text chunks, ICC profiles and anything appended after the image.
"""

import io
import warnings
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from avatars.exceptions import AvatarInvalid, AvatarTooLarge

# Pillow's format name -> the extension stored and the options it is encoded again with.
ACCEPTED_FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "JPEG": ("jpg", {"quality": 88, "optimize": True}),
    "PNG": ("png", {"optimize": True}),
    "WEBP": ("webp", {"quality": 88}),
}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    image_format: str  # JPEG, PNG or WEBP
    extension: str
    width: int
    height: int


def image_clean(*, data: bytes) -> CleanImage:
    """The upload encoded again without metadata; AvatarTooLarge or AvatarInvalid when it may not be an avatar."""
    max_bytes = settings.AVATARS_MAX_BYTES
    if len(data) > max_bytes:
        raise AvatarTooLarge(f"The file is larger than {max_bytes} bytes.", extra={"limit": max_bytes})
    if not data:
        raise AvatarInvalid("The file is empty.")
    with _opened(data) as image:
        image_format = image.format or ""
        if image_format not in ACCEPTED_FORMATS:
            raise AvatarInvalid("The file is not a JPEG, PNG or WebP image.")
        _check_dimensions(image.width, image.height)
        pixels = _decoded_pixels(image)
    extension, options = ACCEPTED_FORMATS[image_format]
    output = io.BytesIO()
    pixels.save(output, format=image_format, **options)
    return CleanImage(output.getvalue(), image_format, extension, pixels.width, pixels.height)


def _opened(data: bytes) -> Image.Image:
    # Only the three formats are tried, so no other decoder of Pillow's (EPS, PSD, ...) ever sees the bytes.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Pillow's own bound (far above ours) tripped by the header alone: nothing was decoded.
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError):
        raise AvatarInvalid("The file is not a JPEG, PNG or WebP image.") from None
    except (ValueError, SyntaxError):
        raise AvatarInvalid("The file is not a readable image.") from None


def _check_dimensions(width: int, height: int) -> None:
    if width > settings.AVATARS_MAX_PIXELS_SIDE or height > settings.AVATARS_MAX_PIXELS_SIDE:
        raise _too_many_pixels()
    if width < 1 or height < 1:
        raise AvatarInvalid("The image has no pixels.")


def _too_many_pixels() -> AvatarTooLarge:
    side = settings.AVATARS_MAX_PIXELS_SIDE
    return AvatarTooLarge(f"The image is larger than {side}x{side} pixels.", extra={"limit_pixels": side})


def _decoded_pixels(image: Image.Image) -> Image.Image:
    """The first frame's pixels, turned upright as its EXIF orientation says, in a new image with no metadata."""
    try:
        image.seek(0)
        upright = ImageOps.exif_transpose(image)
        mode = "RGBA" if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info else "RGB"
        if image.format == "JPEG":
            mode = "RGB"  # JPEG has no alpha channel
        converted = upright.convert(mode)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        # A truncated or corrupt image fails here, when its pixels are decoded.
        raise AvatarInvalid("The file is not a readable image.") from None
    return Image.frombytes(mode, converted.size, converted.tobytes())
