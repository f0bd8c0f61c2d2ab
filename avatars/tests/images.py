"""Images the avatar tests upload, made in memory with Pillow (and one by hand: a header that lies)."""

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F
ORIENTATION = 0x0112


def image_bytes(image_format: str, size: tuple[int, int] = (64, 48), *, color: str = "red", **options) -> bytes:
    mode = "RGBA" if image_format == "PNG" else "RGB"
    output = io.BytesIO()
    Image.new(mode, size, color).save(output, format=image_format, **options)
    return output.getvalue()


def jpeg_with_exif(size: tuple[int, int] = (40, 20), *, orientation: int = 1) -> bytes:
    """A JPEG whose EXIF names a camera, a GPS position and an orientation."""
    exif = Image.Exif()
    exif[MAKE] = "SpyCam-3000"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)})
    return image_bytes("JPEG", size, exif=exif.tobytes())


def png_claiming(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header claims width x height: a decompression bomb's header, without the bomb."""
    png = bytearray(image_bytes("PNG", (1, 1)))
    # IHDR is the first chunk: 8-byte signature, 4-byte length, b"IHDR", then width and height.
    struct.pack_into(">II", png, 16, width, height)
    crc = zlib.crc32(bytes(png[12:29]))
    struct.pack_into(">I", png, 29, crc)
    return bytes(png)


def png_bomb(side: int = 10_000) -> bytes:
    """A real one: side x side pixels of one colour, a few kilobytes compressed, side**2 bytes decoded."""
    output = io.BytesIO()
    Image.new("L", (side, side), 0).save(output, format="PNG", optimize=True)
    return output.getvalue()
