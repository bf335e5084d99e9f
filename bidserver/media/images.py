"""Uploaded photos: decoded to prove they are images, re-encoded without metadata, thumbnailed.

Nothing of the uploaded file survives but its pixels: EXIF (GPS, camera serials), XMP, ICC
and comments are dropped by decoding and encoding afresh, after the EXIF orientation has
been applied to the pixels. The size is checked from the header before any pixel is
decoded, so a small file that claims a huge image (a decompression bomb) is refused
without the memory it asks for. JPEG is decoded at a reduced scale when it is larger than
what is kept (`draft`), which bounds the memory of an ordinary large photo too.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED: Final = ("JPEG", "PNG", "WEBP")
MAX_UPLOAD_BYTES: Final = 10 * 1024 * 1024
MAX_PIXELS: Final = 40_000_000  # 8000 x 5000: more than any phone or camera photo
MAX_SIDE: Final = 2048  # the stored photo's longest side
THUMB_SIDE: Final = 480
JPEG_QUALITY: Final = 85
THUMB_QUALITY: Final = 80
_BACKGROUND: Final = (255, 255, 255)


class NotAnImage(ValueError):
    """The bytes are no image any decoder knows (CONTRACT §4: 415)."""


class BadImage(ValueError):
    """An image refused: a format other than JPEG, PNG or WebP, damaged, too large (422)."""


@dataclass(frozen=True, slots=True)
class Processed:
    photo: bytes  # JPEG, at most MAX_SIDE on its longest side
    thumb: bytes  # JPEG, at most THUMB_SIDE
    width: int
    height: int


def process(data: bytes) -> Processed:
    """Decode, check and re-encode one upload; raises `NotAnImage` or `BadImage`."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise BadImage(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data)
        try:
            pixels = _decode(image)
        finally:
            image.close()
    return encoded(pixels)


def encoded(pixels: Image.Image, *, fast: bool = False) -> Processed:
    """The stored photo and its thumbnail of these (already clean, RGB) pixels.

    `fast` (drawn pictures, with no fine detail to keep) halves the photo by box averaging
    for its thumbnail and skips the optimising encoder passes: a fifth of the time.
    """
    photo = _shrunk(pixels, MAX_SIDE)
    thumb = photo.reduce(2) if fast else _shrunk(photo, THUMB_SIDE)
    optimize = not fast
    return Processed(
        _jpeg(photo, JPEG_QUALITY, optimize), _jpeg(thumb, THUMB_QUALITY, optimize), *photo.size
    )


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise NotAnImage("the file is not an image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(_too_large()) from None
    except (OSError, SyntaxError, ValueError):
        raise BadImage("the image is damaged and cannot be read") from None
    if image.format not in ACCEPTED:
        image.close()
        raise BadImage(f"{image.format} images are not accepted: send JPEG, PNG or WebP")
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        image.close()
        raise BadImage(_too_large())
    return image


def _too_large() -> str:
    return f"the image has more than {MAX_PIXELS:,} pixels"


def _decode(image: Image.Image) -> Image.Image:
    """The first frame's pixels, upright, in RGB (transparency flattened onto white)."""
    try:
        if image.format == "JPEG":
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))
        image.seek(0)
        image.load()
        upright = ImageOps.exif_transpose(image) or image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(_too_large()) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError):
        raise BadImage("the image is damaged and cannot be read") from None
    if upright.mode in ("RGBA", "LA") or "transparency" in upright.info:
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, _BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return upright.convert("RGB")


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
    return copy


def _jpeg(image: Image.Image, quality: int, optimize: bool) -> bytes:
    """A fresh JPEG with no metadata at all (no EXIF, XMP, ICC or comment is passed on)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=optimize, progressive=optimize)
    return out.getvalue()
