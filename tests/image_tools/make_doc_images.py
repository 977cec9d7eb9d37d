"""Write the before/after pictures of docs/inpainting.md (pre-fill methods, colour match).

Run from the repository root: ``.host/venv/bin/python -m tests.image_tools.make_doc_images``.
Pure core functions on the example photos; no model weights are involved (the learned pre-fills
need the real big-lama / MAT files, which no test downloads).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "data" / "examples"
OUT = ROOT / "docs" / "images"
PANEL = 192

sys.path.insert(0, str(ROOT))
from brushnet_core import blend, prefill  # noqa: E402


def _load(name: str, mask: str, width: int = 384) -> tuple[torch.Tensor, torch.Tensor]:
    img = Image.open(EXAMPLES / name).convert("RGB")
    h = round(img.height * width / img.width)
    image = torch.from_numpy(np.asarray(img.resize((width, h), Image.LANCZOS))).float()[None] / 255
    m = Image.open(EXAMPLES / mask).convert("L").resize((width, h), Image.BILINEAR)
    return image, (torch.from_numpy(np.asarray(m)).float()[None] / 255 > 0.5).float()


def _grow(mask: torch.Tensor, px: int) -> torch.Tensor:
    from brushnet_core.image.mask_ops import grow_mask

    return grow_mask(mask, px)


def _panel(image: torch.Tensor, title: str, outline: torch.Tensor | None = None) -> Image.Image:
    arr = (image[0].clamp(0, 1) * 255).round().byte().numpy()
    if outline is not None:  # tint the masked area
        m = outline[0].numpy()[..., None] > 0.5
        arr = np.where(m, (0.55 * arr + 0.45 * np.array([220, 40, 60])).astype(np.uint8), arr)
    pic = Image.fromarray(arr)
    pic = pic.resize((PANEL, round(pic.height * PANEL / pic.width)), Image.LANCZOS)
    canvas = Image.new("RGB", (PANEL, pic.height + 22), (20, 20, 28))
    canvas.paste(pic, (0, 22))
    ImageDraw.Draw(canvas).text((6, 5), title, fill=(235, 235, 235))
    return canvas


def _strip(panels: list[Image.Image]) -> Image.Image:
    h = max(p.height for p in panels)
    out = Image.new("RGB", (sum(p.width for p in panels) + 4 * (len(panels) - 1), h), (255, 255, 255))
    x = 0
    for p in panels:
        out.paste(p, (x, 0))
        x += p.width + 4
    return out


def _save(pic: Image.Image, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    pic.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def prefill_pictures() -> list[Path]:
    paths = []
    for name, mask_name, grow, tag in [("test_image.jpg", "test_mask.jpg", 6, "cake"),
                                       ("example_5.jpg", "example_5_mask.jpg", 6, "person")]:
        image, mask = _load(name, mask_name)
        mask = _grow(mask, grow)
        panels = [_panel(image, "before (mask in red)", mask)]
        for method in ("neutral", "blur", "telea", "navier-stokes"):
            try:
                panels.append(_panel(prefill.prefill(image, mask, method), method))
            except prefill.PrefillError:
                print(f"skipped {method}: OpenCV is not installed")
        paths.append(_save(_strip(panels), f"prefill_{tag}.png"))
    return paths


def color_match_pictures() -> list[Path]:
    image, mask = _load("test_image.jpg", "test_mask.jpg")
    # stand-in for a generation that drifted: the whole image a little darker and bluer
    drifted = (image * torch.tensor([0.82, 0.86, 0.95]) + torch.tensor([0.0, 0.01, 0.05])).clamp(0, 1)
    before, _ = blend.blend_inpaint(drifted, image, mask, kernel=10, sigma=10.0)
    after, _ = blend.blend_inpaint(drifted, image, mask, kernel=10, sigma=10.0, color_match=1.0)
    panels = [_panel(image, "original (mask in red)", mask), _panel(before, "blend, drifted colours"),
              _panel(after, "blend + color_match 1.0")]
    return [_save(_strip(panels), "color_match_cake.png")]


def main() -> None:
    for path in prefill_pictures() + color_match_pictures():
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
