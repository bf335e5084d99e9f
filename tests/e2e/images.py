"""Files the upload tests send: a real photo, a file that is no image, a decompression bomb."""

from __future__ import annotations

import io

from PIL import Image


def photo_png() -> bytes:
    image = Image.new("RGB", (640, 480), (30, 90, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def bomb_png() -> bytes:
    """A small PNG whose header claims 100 million pixels (a third of a GB decoded)."""
    image = Image.new("1", (10_000, 10_000), 0)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def demo_png(vin: str, model: str, color: str) -> bytes:
    """A drawn car, as the demo catalogue has."""
    from bidserver.media.demo import demo_photo

    out = io.BytesIO()
    demo_photo(vin, model, color).save(out, "PNG")
    return out.getvalue()


NOT_AN_IMAGE = b"%PDF-1.4\n% not a photo at all\n"
