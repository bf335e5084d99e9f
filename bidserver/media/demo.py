"""Pictures of the demo catalogue, drawn here: a car of the vehicle's colour and body style.

`bidserver seed-demo` gives every demo vehicle one of these, so the pages look like a
marketplace without downloading anything. Deterministic: the same vehicle gets the same
picture (its VIN picks the background), so the content-derived media name is stable too.
"""

from __future__ import annotations

import hashlib
from typing import Final

from PIL import Image, ImageDraw

WIDTH: Final = 800
HEIGHT: Final = 600
_COLORS: Final = {
    "white": (236, 238, 240),
    "black": (32, 34, 38),
    "gray": (118, 124, 132),
    "silver": (178, 184, 190),
    "blue": (38, 86, 168),
    "red": (176, 34, 40),
    "green": (46, 110, 70),
    "brown": (110, 76, 52),
    "beige": (206, 190, 160),
    "orange": (226, 120, 34),
    "yellow": (232, 196, 46),
}
_SKIES: Final = (
    ((164, 200, 232), (230, 240, 248)),
    ((250, 206, 160), (252, 236, 214)),
    ((190, 206, 220), (236, 240, 244)),
    ((120, 160, 210), (206, 224, 242)),
)
_TRUCKS: Final = ("F-150", "Silverado", "Tacoma", "Frontier", "1500", "Sierra")
_SUVS: Final = (
    "RAV4", "CR-V", "Pilot", "Explorer", "Escape", "Equinox", "Tahoe", "X5", "GLE", "Q5",
    "Model Y", "Outback", "Forester", "Rogue", "Tucson", "Santa Fe", "Sorento", "Telluride",
    "Wrangler", "Grand Cherokee", "Tiguan", "CX-5", "Cayenne", "RX", "XC90", "Highlander",
    "Odyssey",
)  # fmt: skip
_COUPES: Final = ("Mustang", "Corvette", "911", "MX-5", "WRX", "GTI")


def body_style(model: str) -> str:
    """`truck`, `suv`, `coupe` or `sedan`, from the model's name."""
    for style, names in (("truck", _TRUCKS), ("suv", _SUVS), ("coupe", _COUPES)):
        if any(name in model for name in names):
            return style
    return "sedan"


def paint(color: str) -> tuple[int, int, int]:
    return _COLORS.get(color.strip().lower(), _COLORS["silver"])


# Body outlines on a 100 x 40 grid (x to the right, y down from the roof line's top).
_BODIES: Final = {
    "sedan": [(2, 30), (4, 22), (22, 19), (34, 8), (66, 8), (78, 19), (96, 21), (98, 30)],
    "coupe": [(2, 30), (4, 23), (28, 20), (40, 10), (62, 10), (74, 20), (96, 22), (98, 30)],
    "suv": [(2, 30), (3, 18), (16, 16), (24, 4), (84, 4), (92, 16), (98, 18), (98, 30)],
    "truck": [(2, 30), (3, 17), (20, 15), (26, 3), (50, 3), (52, 15), (98, 15), (98, 30)],
}
_WINDOWS: Final = {
    "sedan": [(25, 19), (36, 10), (64, 10), (75, 19)],
    "coupe": [(31, 20), (42, 12), (61, 12), (71, 20)],
    "suv": [(19, 16), (26, 6), (82, 6), (89, 16)],
    "truck": [(23, 15), (28, 5), (48, 5), (48, 15)],
}


def demo_photo(vin: str, model: str, color: str) -> Image.Image:
    """A car of this colour and body style on a background chosen by the VIN."""
    seed = hashlib.sha256(vin.encode()).digest()
    top, bottom = _SKIES[seed[0] % len(_SKIES)]
    image = Image.new("RGB", (WIDTH, HEIGHT), bottom)
    draw = ImageDraw.Draw(image)
    horizon = 380
    for y in range(0, horizon, 4):
        t = y / horizon
        shade = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.rectangle((0, y, WIDTH, y + 4), fill=shade)
    draw.rectangle((0, horizon, WIDTH, HEIGHT), fill=(92, 96, 100))
    draw.rectangle((0, horizon, WIDTH, horizon + 10), fill=(150, 154, 158))
    _car(draw, body_style(model), paint(color), shift=(seed[1] % 60) - 30)
    return image


def _car(draw: ImageDraw.ImageDraw, style: str, body: tuple[int, int, int], shift: int) -> None:
    scale, left, top = 6.4, 80 + shift, 250

    def at(points: list[tuple[int, int]]) -> list[tuple[float, float]]:
        return [(left + x * scale, top + y * scale) for x, y in points]

    draw.ellipse((left, top + 27 * scale, left + 100 * scale, top + 35 * scale), fill=(60, 62, 66))
    outline = tuple(max(0, c - 60) for c in body)
    draw.polygon(at(_BODIES[style]), fill=body, outline=outline, width=3)
    windows = _WINDOWS[style]
    draw.polygon(at(windows), fill=(70, 92, 112), outline=outline, width=2)
    pillar = (windows[1][0] + windows[2][0]) // 2
    draw.line(at([(pillar, windows[1][1]), (pillar, windows[0][1])]), fill=body, width=7)
    draw.line(
        at([(pillar + 2, windows[0][1] + 2), (pillar + 5, windows[0][1] + 2)]),
        fill=outline,
        width=3,
    )
    light = at([(94, 21), (98, 23)])
    draw.rectangle((*light[0], *light[1]), fill=(250, 236, 170))
    for x in (20, 80):
        cx, cy, r = left + x * scale, top + 30 * scale, 7.5 * scale
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(28, 28, 30))
        draw.ellipse((cx - r / 2, cy - r / 2, cx + r / 2, cy + r / 2), fill=(170, 174, 180))
