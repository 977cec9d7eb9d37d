"""(Re)generate the example workflows in workflows/ from the live node definitions.

Run with the host python from the repository root: ``.host/venv/bin/python -m demo.build_workflows``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Callable

from . import example_models as em
from .ui_graph import UIGraph

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "workflows"
NEGATIVE = "ugly, low quality, blurry, deformed"

SD15_NOTE = f"""## SD1.5 BrushNet inpainting
Models:
- `models/checkpoints/`: any SD1.5 checkpoint (here `{em.SD15_CHECKPOINT}`; community checkpoints work).
- `models/brushnet/` (or `models/inpaint/`): the BrushNet folder `random_mask_brushnet_ckpt/`
  (or `segmentation_mask_brushnet_ckpt/`, BrushEdit's `brushnetX/`), or a single-file repack.
White in the mask = repaint. Blend Inpaint pastes the result back with a feather that only grows outward."""


def _sd15_inpaint(g: UIGraph, image: str = em.EXAMPLE_IMAGE, mask: str = em.EXAMPLE_MASK) -> None:
    g.note(SD15_NOTE, (0, -260))
    img = g.add("LoadImage", (0, 0), {"image": image})
    msk = g.add("LoadImageMask", (0, 360), {"image": mask, "channel": "red"})
    ckpt = g.add("CheckpointLoaderSimple", (0, 700), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, 860), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    pos = g.add("CLIPTextEncode", (360, 0), {"text": "a wooden bench in a sunny park, detailed, natural light"},
                clip=_slot(ckpt, 1), title="Positive")
    neg = g.add("CLIPTextEncode", (360, 240), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    bn = g.add("BrushNet", (720, 0), {"scale": 1.0, "start_at": 0, "end_at": 10000}, model=_slot(ckpt, 0),
               vae=_slot(ckpt, 2), image=img, mask=msk, brushnet=bnl, positive=pos, negative=neg)
    ks = g.add("KSampler", (1080, 0), {"seed": 42, "steps": 25, "cfg": 7.5, "sampler_name": "uni_pc",
                                       "scheduler": "normal", "denoise": 1.0},
               model=_slot(bn, 0), positive=_slot(bn, 1), negative=_slot(bn, 2), latent_image=_slot(bn, 3))
    dec = g.add("VAEDecode", (1440, 0), samples=ks, vae=_slot(ckpt, 2))
    blend = g.add("BlendInpaint", (1440, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=msk)
    g.add("SaveImage", (1800, 0), {"filename_prefix": "BrushEdit/sd15_inpaint"}, images=_slot(blend, 0))


def _slot(ref, slot: int):
    return type(ref)(ref.node_id, slot)


def sd15_brushnet_inpaint(g: UIGraph) -> None:
    _sd15_inpaint(g)


def crop_and_paste_large_image(g: UIGraph) -> None:
    g.note("""## Crop for inpaint, paste back
A large photo: Cut For Inpaint crops around the mask at 512x512 (keeping aspect), BrushNet inpaints the
crop at the model's native size, Blend Inpaint pastes it back at `origin` with a feathered edge.
Models as in the SD1.5 inpaint workflow.""", (0, -260))
    img = g.add("LoadImage", (0, 0), {"image": em.LARGE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.LARGE_MASK, "channel": "red"})
    cut = g.add("CutForInpaint", (360, 360), {"width": 512, "height": 512}, image=img, mask=msk)
    ckpt = g.add("CheckpointLoaderSimple", (0, 700), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, 860), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    pos = g.add("CLIPTextEncode", (360, 0), {"text": "green grass and flowers"}, clip=_slot(ckpt, 1), title="Positive")
    neg = g.add("CLIPTextEncode", (360, 200), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    bn = g.add("BrushNet", (720, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=_slot(cut, 0),
               mask=_slot(cut, 1), brushnet=bnl, positive=pos, negative=neg)
    ks = g.add("KSampler", (1080, 0), {"seed": 7, "steps": 25, "cfg": 7.5, "sampler_name": "uni_pc", "scheduler": "normal"},
               model=_slot(bn, 0), positive=_slot(bn, 1), negative=_slot(bn, 2), latent_image=_slot(bn, 3))
    dec = g.add("VAEDecode", (1440, 0), samples=ks, vae=_slot(ckpt, 2))
    blend = g.add("BlendInpaint", (1440, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=msk,
                  origin=_slot(cut, 2))
    g.add("SaveImage", (1800, 0), {"filename_prefix": "BrushEdit/crop_and_paste"}, images=_slot(blend, 0))


def brushnet_lora_controlnet(g: UIGraph) -> None:
    g.note(f"""## BrushNet + LoRA + ControlNet
- `models/loras/{em.SD15_LORA}`: any SD1.5 LoRA.
- `models/controlnet/{em.SD15_CONTROLNET}`: an SD1.5 ControlNet (canny here, fed by the Canny node).
BrushNet's outputs go through Apply ControlNet like plain conditioning; LoRA is applied before BrushNet.""", (0, -260))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.EXAMPLE_MASK, "channel": "red"})
    ckpt = g.add("CheckpointLoaderSimple", (0, 700), {"ckpt_name": em.SD15_CHECKPOINT})
    lora = g.add("LoraLoader", (360, 700), {"lora_name": em.SD15_LORA, "strength_model": 0.8, "strength_clip": 0.8},
                 model=_slot(ckpt, 0), clip=_slot(ckpt, 1))
    bnl = g.add("BrushNetLoader", (0, 860), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    pos = g.add("CLIPTextEncode", (360, 0), {"text": "a red vintage bicycle"}, clip=_slot(lora, 1), title="Positive")
    neg = g.add("CLIPTextEncode", (360, 200), {"text": NEGATIVE}, clip=_slot(lora, 1), title="Negative")
    bn = g.add("BrushNet", (720, 0), {}, model=_slot(lora, 0), vae=_slot(ckpt, 2), image=img, mask=msk,
               brushnet=bnl, positive=pos, negative=neg)
    canny = g.add("Canny", (720, 420), {"low_threshold": 0.4, "high_threshold": 0.8}, image=img)
    cnl = g.add("ControlNetLoader", (720, 620), {"control_net_name": em.SD15_CONTROLNET})
    cn = g.add("ControlNetApplyAdvanced", (1080, 300), {"strength": 0.6, "start_percent": 0.0, "end_percent": 0.8},
               positive=_slot(bn, 1), negative=_slot(bn, 2), control_net=cnl, image=canny, vae=_slot(ckpt, 2))
    ks = g.add("KSampler", (1440, 0), {"seed": 3, "steps": 25, "cfg": 7.5, "sampler_name": "uni_pc", "scheduler": "normal"},
               model=_slot(bn, 0), positive=_slot(cn, 0), negative=_slot(cn, 1), latent_image=_slot(bn, 3))
    dec = g.add("VAEDecode", (1800, 0), samples=ks, vae=_slot(ckpt, 2))
    blend = g.add("BlendInpaint", (1800, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=msk)
    g.add("SaveImage", (2160, 0), {"filename_prefix": "BrushEdit/lora_controlnet"}, images=_slot(blend, 0))


def _sampling_tail(g: UIGraph, x: int, ckpt, bn, img, msk, prefix: str, seed: int = 5) -> None:
    ks = g.add("KSampler", (x, 0), {"seed": seed, "steps": 25, "cfg": 7.5, "sampler_name": "uni_pc", "scheduler": "normal"},
               model=_slot(bn, 0), positive=_slot(bn, 1), negative=_slot(bn, 2), latent_image=_slot(bn, 3))
    dec = g.add("VAEDecode", (x + 360, 0), samples=ks, vae=_slot(ckpt, 2))
    blend = g.add("BlendInpaint", (x + 360, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=msk)
    g.add("SaveImage", (x + 720, 0), {"filename_prefix": prefix}, images=_slot(blend, 0))


def remove_object_by_text(g: UIGraph) -> None:
    g.note(f"""## Object removal from text
GroundingDINO finds "the object" by name, SAM segments it, Mask Adjust grows the mask (shadows and fur edges
otherwise survive), BrushNet repaints it from a background-only prompt.
- `models/grounding-dino/{em.GROUNDING_DINO}` (+ bert-base-uncased `vocab.txt` next to it), or a Hugging Face
  folder such as `grounding-dino-tiny/`.
- `models/sams/{em.SAM}` (or `_l_`/`_h_`, or a Hugging Face `sam-vit-base/` folder).
- SD1.5 checkpoint and BrushNet as in the SD1.5 inpaint workflow.""", (0, -300))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    dino = g.add("BrushEditGroundingDinoLoader", (0, 360), {"model_name": em.GROUNDING_DINO})
    sam = g.add("BrushEditSAMLoader", (0, 480), {"model_name": em.SAM})
    tm = g.add("BrushEditTextMask", (360, 360), {"prompt": "cake", "box_threshold": 0.3, "text_threshold": 0.25,
                                                 "mode": "union"}, grounding_dino=dino, sam=sam, image=img)
    adj = g.add("BrushEditMaskAdjust", (720, 360), {"grow": 16, "fill_holes": True}, mask=_slot(tm, 0))
    ckpt = g.add("CheckpointLoaderSimple", (0, 700), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, 860), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    pos = g.add("CLIPTextEncode", (360, 0), {"text": "empty wooden table, clean background"}, clip=_slot(ckpt, 1),
                title="Positive")
    neg = g.add("CLIPTextEncode", (360, 200), {"text": "cake, " + NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    bn = g.add("BrushNet", (1080, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=img, mask=adj,
               brushnet=bnl, positive=pos, negative=neg)
    _sampling_tail(g, 1440, ckpt, bn, img, adj, "BrushEdit/remove_object")


def instruction_edit(g: UIGraph) -> None:
    g.note("""## Instruction editing (BrushEdit)
BrushEdit Planner turns the instruction into a category, an object, a target caption and (for additions) a box.
The rule-based planner needs no model; swap in the OpenAI-compatible planner (API key from an environment
variable) or a local Qwen-VL from `models/LLM/`. Every intermediate is an output you can inspect or override.
Text to Mask finds the object; Plan Mask applies the category (grow for removal, invert for background,
whole image for global, the box for addition). For a second round, feed the saved image back in.""", (0, -300))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    rules = g.add("BrushEditPlannerRules", (0, 360), {})
    plan = g.add("BrushEditPlanner", (360, 360), {"instruction": "remove the cake"}, image=img, planner=rules)
    dino = g.add("BrushEditGroundingDinoLoader", (0, 560), {"model_name": em.GROUNDING_DINO})
    sam = g.add("BrushEditSAMLoader", (0, 680), {"model_name": em.SAM})
    tm = g.add("BrushEditTextMask", (720, 360), {"mode": "union"}, grounding_dino=dino, sam=sam, image=img,
               prompt=_slot(plan, 2))
    pm = g.add("BrushEditPlanMask", (1080, 360), {"grow_remove_px": 20}, image=img, plan=_slot(plan, 0),
               mask=_slot(tm, 0))
    ckpt = g.add("CheckpointLoaderSimple", (0, 860), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, 1020), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    pos = g.add("CLIPTextEncode", (720, 0), {}, clip=_slot(ckpt, 1), text=_slot(plan, 3), title="Positive (target caption)")
    neg = g.add("CLIPTextEncode", (720, 200), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    bn = g.add("BrushNet", (1440, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=img, mask=pm,
               brushnet=bnl, positive=pos, negative=neg)
    _sampling_tail(g, 1800, ckpt, bn, img, pm, "BrushEdit/instruction_edit")


def sdxl_brushnet_inpaint(g: UIGraph) -> None:
    g.note(f"""## SDXL BrushNet inpainting
- `models/checkpoints/`: any SDXL checkpoint (here `{em.SDXL_CHECKPOINT}`).
- `models/brushnet/random_mask_brushnet_ckpt_sdxl_v0/` (or `segmentation_mask_brushnet_ckpt_sdxl_v0/`).
SDXL BrushNet reads the pooled text and size embedding, so it runs on both CFG halves.
Official settings: CFG 5.0; 1024x1024 images.""", (0, -260))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.EXAMPLE_MASK, "channel": "red"})
    ckpt = g.add("CheckpointLoaderSimple", (0, 700), {"ckpt_name": em.SDXL_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, 860), {"brushnet": em.SDXL_BRUSHNET, "dtype": "auto"})
    pos = g.add("CLIPTextEncode", (360, 0), {"text": "a wooden bench in a sunny park, detailed, natural light"},
                clip=_slot(ckpt, 1), title="Positive")
    neg = g.add("CLIPTextEncode", (360, 240), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    bn = g.add("BrushNet", (720, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=img, mask=msk,
               brushnet=bnl, positive=pos, negative=neg)
    ks = g.add("KSampler", (1080, 0), {"seed": 42, "steps": 30, "cfg": 5.0, "sampler_name": "uni_pc", "scheduler": "normal"},
               model=_slot(bn, 0), positive=_slot(bn, 1), negative=_slot(bn, 2), latent_image=_slot(bn, 3))
    dec = g.add("VAEDecode", (1440, 0), samples=ks, vae=_slot(ckpt, 2))
    blend = g.add("BlendInpaint", (1440, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=msk)
    g.add("SaveImage", (1800, 0), {"filename_prefix": "BrushEdit/sdxl_inpaint"}, images=_slot(blend, 0))


BUILDERS: dict[str, Callable[[UIGraph], None]] = {
    "sdxl_brushnet_inpaint": sdxl_brushnet_inpaint,
    "remove_object_by_text": remove_object_by_text,
    "instruction_edit": instruction_edit,
    "sd15_brushnet_inpaint": sd15_brushnet_inpaint,
    "crop_and_paste_large_image": crop_and_paste_large_image,
    "brushnet_lora_controlnet": brushnet_lora_controlnet,
}


def build_all(object_info: dict, only: list[str] | None = None) -> dict[str, dict]:
    out = {}
    for name, builder in BUILDERS.items():
        if only and name not in only:
            continue
        g = UIGraph(object_info)
        builder(g)
        out[name] = g.to_json()
    return out


def write_thumbnail(name: str, target: Path) -> None:
    """A small preview for the template browser: the example photo, mask tinted, and the title."""
    from PIL import Image, ImageDraw

    examples = ROOT / "tests" / "data" / "examples"
    img = Image.open(examples / "test_image.jpg").convert("RGB").resize((320, 320))
    mask = Image.open(examples / "test_mask.jpg").convert("L").resize((320, 320))
    tint = Image.new("RGB", img.size, (220, 40, 60))
    img = Image.composite(Image.blend(img, tint, 0.55), img, mask)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 276, 320, 320], fill=(20, 20, 28))
    draw.text((10, 290), name.replace("_", " "), fill=(240, 240, 240))
    img.save(target, quality=85)


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import _harness

    _harness.boot_host()
    from .object_info import all_object_info

    WORKFLOWS.mkdir(exist_ok=True)
    for name, wf in build_all(all_object_info(), sys.argv[1:] or None).items():
        (WORKFLOWS / f"{name}.json").write_text(json.dumps(wf, indent=2) + "\n")
        write_thumbnail(name, WORKFLOWS / f"{name}.jpg")
        print(f"wrote workflows/{name}.json ({len(wf['nodes'])} nodes)")


if __name__ == "__main__":
    main()
