"""Draw SD Studio's demo product photo (black headphones on a gray studio background).

Made from scratch with Pillow for SD Studio, released under CC0 1.0 like the
rest of catalog/demo/. Run `python catalog/demo/make_demo_photo.py` to redraw
headphones.png (the result is byte-for-byte stable for a given Pillow version).
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 768


def draw() -> Image.Image:
    # Studio sweep: a vertical gray gradient.
    background = Image.linear_gradient("L").resize((SIZE, SIZE)).point(lambda v: 150 + v * 70 // 255)
    image = Image.merge("RGB", (background, background, background.point(lambda v: min(255, v + 6))))
    shadow = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(shadow).ellipse((170, 600, 600, 660), fill=120)
    image.paste((60, 60, 64), (0, 0), shadow.filter(ImageFilter.GaussianBlur(18)))
    draw = ImageDraw.Draw(image)
    # Headband: two concentric arcs.
    draw.arc((190, 110, 580, 520), start=180, end=360, fill=(22, 22, 26), width=34)
    draw.arc((206, 126, 564, 504), start=195, end=345, fill=(70, 70, 78), width=6)
    # Ear cups with cushions and a highlight.
    for x in (170, 500):
        draw.rounded_rectangle((x, 300, x + 100, 520), radius=46, fill=(18, 18, 20))
        draw.rounded_rectangle((x + 14, 318, x + 86, 502), radius=34, fill=(38, 38, 44))
        draw.ellipse((x + 30, 340, x + 50, 420), fill=(95, 95, 105))
    draw.rectangle((200, 280, 240, 310), fill=(30, 30, 34))
    draw.rectangle((530, 280, 570, 310), fill=(30, 30, 34))
    return image.filter(ImageFilter.SMOOTH)


if __name__ == "__main__":
    target = Path(__file__).with_name("headphones.png")
    draw().save(target, format="PNG")
    print(target)
