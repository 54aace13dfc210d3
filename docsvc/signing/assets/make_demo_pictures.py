"""Draw the demo pictures shipped beside this file (run once by hand; needs Pillow):
a blue handwritten-looking signature and a red round seal of UBND tỉnh Quảng Ngãi.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).parent
BOLD = "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"
BLUE = (20, 45, 170, 255)
RED = (215, 25, 32, 255)
SS = 4  # supersampling factor for smooth strokes


def _stroke(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: float,
            color: tuple[int, ...]) -> None:
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        draw.line([(x0 * SS, y0 * SS), (x1 * SS, y1 * SS)], fill=color, width=int(width * SS))
        r = width * SS / 2
        draw.ellipse([x1 * SS - r, y1 * SS - r, x1 * SS + r, y1 * SS + r], fill=color)


def signature(path: Path) -> None:
    """Draw a cursive-looking signature with a flourish."""
    w, h = 600, 260
    img = Image.new("RGBA", (w * SS, h * SS), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    pts = []
    for i in range(400):  # loops of a cursive "Việt"-like scribble
        t = i / 399
        x = 60 + 430 * t + 28 * math.sin(t * 9 * math.pi)
        y = 130 - 55 * math.sin(t * 9 * math.pi + 0.6) * (1 - 0.4 * t) - 30 * t
        pts.append((x, y))
    _stroke(draw, pts, 5.5, BLUE)
    flourish = [(70 + 480 * t, 200 - 40 * t + 25 * math.sin(t * math.pi * 1.2))
                for t in (i / 199 for i in range(200))]
    _stroke(draw, flourish, 4.5, BLUE)
    _stroke(draw, [(300, 60 + 2 * i) for i in range(0, 30)], 4, BLUE)  # the dot and a tick
    img.resize((w, h), Image.Resampling.LANCZOS).save(path, optimize=True)


def seal(path: Path) -> None:
    """Draw a round red seal with the agency name along the rim and a star in the middle."""
    size = 600
    c = size * SS / 2
    img = Image.new("RGBA", (size * SS, size * SS), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    for radius, width in ((290, 14), (262, 5), (165, 5)):
        r = radius * SS
        draw.ellipse([c - r, c - r, c + r, c + r], outline=RED, width=width * SS)
    font = ImageFont.truetype(BOLD, 46 * SS)
    text = "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI"
    span = 300.0  # degrees covered by the text, centred at the top
    for i, ch in enumerate(text):
        angle = -90 - span / 2 + span * (i + 0.5) / len(text)
        a = math.radians(angle)
        glyph = Image.new("RGBA", (80 * SS, 80 * SS), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((40 * SS, 40 * SS), ch, font=font, fill=RED, anchor="mm")
        glyph = glyph.rotate(-(angle + 90), resample=Image.Resampling.BICUBIC)
        r = 214 * SS
        x, y = c + r * math.cos(a), c + r * math.sin(a)
        img.alpha_composite(glyph, (int(x - glyph.width / 2), int(y - glyph.height / 2)))
    star = []
    for k in range(10):
        a = math.radians(-90 + 36 * k)
        r = (120 if k % 2 == 0 else 48) * SS
        star.append((c + r * math.cos(a), c + r * math.sin(a)))
    draw.polygon(star, fill=RED)
    img.resize((size, size), Image.Resampling.LANCZOS).save(path, optimize=True)


if __name__ == "__main__":
    signature(HERE / "demo-signature.png")
    seal(HERE / "demo-seal.png")
