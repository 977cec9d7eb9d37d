"""(Re)generate the inpaint-tool example workflows in workflows/ from the live node definitions.

Pre-fill for removal, colour match, crop for small regions, many regions in one pass and soft
inpainting. Run from tests/: ``../.host/venv/bin/python -m e2e.build_inpaint_workflows``.
The end-to-end tests check that the committed files equal what this builds.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import _harness  # noqa: I001  (puts ComfyUI and the repository on sys.path first)
from demo import example_models as em
from demo.build_workflows import NEGATIVE, write_thumbnail
from demo.ui_graph import Ref, UIGraph

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
LAMA = "big-lama.pt"
MODELS = f"""- `models/checkpoints/`: any SD1.5 checkpoint (here `{em.SD15_CHECKPOINT}`).
- `models/brushnet/`: `random_mask_brushnet_ckpt/` (or `segmentation_mask_brushnet_ckpt/`, BrushEdit's `brushnetX/`)."""


def _slot(ref: Ref, slot: int) -> Ref:
    return Ref(ref.node_id, slot)


def _models(g: UIGraph, y: int = 700) -> tuple[Ref, Ref]:
    ckpt = g.add("CheckpointLoaderSimple", (0, y), {"ckpt_name": em.SD15_CHECKPOINT})
    bnl = g.add("BrushNetLoader", (0, y + 160), {"brushnet": em.SD15_BRUSHNET, "dtype": "auto"})
    return ckpt, bnl


def _prompts(g: UIGraph, ckpt: Ref, text: str, negative: str = NEGATIVE, x: int = 360) -> tuple[Ref, Ref]:
    pos = g.add("CLIPTextEncode", (x, 0), {"text": text}, clip=_slot(ckpt, 1), title="Positive")
    neg = g.add("CLIPTextEncode", (x, 220), {"text": negative}, clip=_slot(ckpt, 1), title="Negative")
    return pos, neg


def _sample(g: UIGraph, x: int, bn: Ref, ckpt: Ref, denoise: float = 1.0, seed: int = 42,
            model: Ref | None = None) -> Ref:
    ks = g.add("KSampler", (x, 0), {"seed": seed, "steps": 25, "cfg": 7.5, "sampler_name": "uni_pc",
                                    "scheduler": "normal", "denoise": denoise},
               model=model or _slot(bn, 0), positive=_slot(bn, 1), negative=_slot(bn, 2), latent_image=_slot(bn, 3))
    return g.add("VAEDecode", (x + 360, 0), samples=ks, vae=_slot(ckpt, 2))


def remove_object_prefill(g: UIGraph) -> None:
    g.note(f"""## Remove an object without a ghost
The hole is pre-filled with background first (big-lama here; blur, telea, navier-stokes and neutral need no
model), VAE-encoded and given to BrushNet as `source_latent`. KSampler then starts from the filled image
(denoise 0.8): nothing of the object is left to copy.
- `models/inpaint/{LAMA}` (big-lama, read through spandrel), or `MAT_Places512_G_fp16.safetensors` with
  method `mat` (needs `pip install spandrel-extra-arches`).
{MODELS}""", (0, -320))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.EXAMPLE_MASK, "channel": "red"})
    grow = g.add("BrushEditMaskAdjust", (360, 440), {"grow": 8}, mask=msk)
    lama = g.add("BrushEditInpaintModelLoader", (360, 700), {"model_name": LAMA})
    fill = g.add("BrushEditPrefill", (720, 440), {"method": "lama"}, image=img, mask=grow, inpaint_model=lama)
    ckpt, bnl = _models(g, 860)
    enc = g.add("VAEEncode", (1080, 440), pixels=fill, vae=_slot(ckpt, 2))
    pos, neg = _prompts(g, ckpt, "empty table, clean background, natural light", "object, " + NEGATIVE)
    bn = g.add("BrushNet", (1080, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=fill, mask=grow,
               brushnet=bnl, positive=pos, negative=neg, source_latent=enc)
    dec = _sample(g, 1440, bn, ckpt, denoise=0.8)
    blend = g.add("BlendInpaint", (2160, 200), {"kernel": 10, "sigma": 10.0, "color_match": 1.0}, inpaint=dec,
                  original=img, mask=grow)
    g.add("SaveImage", (2520, 0), {"filename_prefix": "BrushEdit/remove_prefill"}, images=_slot(blend, 0))


def color_match_inpaint(g: UIGraph) -> None:
    g.note(f"""## Colour match
A generated region often comes back a little darker or tinted. Color Match Inpaint compares the generated
image with the original in a band around the mask (Lab mean and spread) and removes that shift from the
region; pixels beyond the band stay bit-identical. (Blend Inpaint's `color_match` does the same in one node.)
{MODELS}""", (0, -280))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.EXAMPLE_MASK, "channel": "red"})
    ckpt, bnl = _models(g)
    pos, neg = _prompts(g, ckpt, "a wooden bench in a sunny park, detailed, natural light")
    bn = g.add("BrushNet", (720, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=img, mask=msk,
               brushnet=bnl, positive=pos, negative=neg)
    dec = _sample(g, 1080, bn, ckpt)
    match = g.add("BrushEditColorMatch", (1800, 200), {"strength": 1.0, "band": 32}, image=dec, original=img,
                  mask=msk)
    blend = g.add("BlendInpaint", (2160, 200), {"kernel": 10, "sigma": 10.0}, inpaint=match, original=img, mask=msk)
    g.add("SaveImage", (2520, 0), {"filename_prefix": "BrushEdit/color_match"}, images=_slot(blend, 0))


def small_region_detail(g: UIGraph) -> None:
    g.note(f"""## A small region of a large photo at full detail
Crop For Inpaint (BrushEdit) cuts the region's box (times `context`) and scales it UP to the model's native
512x512, so a small face or hand is redrawn with all of the model's pixels. Blend Inpaint pastes it back at
`origin` into the `canvas`. Set `extend_*` to outpaint.
{MODELS}""", (0, -280))
    img = g.add("LoadImage", (0, 0), {"image": em.LARGE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.LARGE_MASK, "channel": "red"})
    crop = g.add("BrushEditCrop", (360, 360), {"width": 512, "height": 512, "mode": "one", "context": 1.5,
                                               "max_upscale": 4.0}, image=img, mask=msk)
    ckpt, bnl = _models(g)
    pos, neg = _prompts(g, ckpt, "green grass and flowers, detailed")
    bn = g.add("BrushNet", (720, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=_slot(crop, 0),
               mask=_slot(crop, 1), brushnet=bnl, positive=pos, negative=neg)
    dec = _sample(g, 1080, bn, ckpt, seed=7)
    blend = g.add("BlendInpaint", (1800, 200), {"kernel": 10, "sigma": 10.0, "color_match": 1.0}, inpaint=dec,
                  original=_slot(crop, 3), mask=_slot(crop, 1), origin=_slot(crop, 2))
    g.add("SaveImage", (2160, 0), {"filename_prefix": "BrushEdit/small_region"}, images=_slot(blend, 0))


def many_regions_one_pass(g: UIGraph) -> None:
    g.note(f"""## Many regions, one image, one sampler run
Text to Mask finds every object (one mask per object); Crop For Inpaint in mode `each` cuts one native-size
crop per region (touching or close regions are merged) and hands them over as ONE batch. BrushNet and KSampler
inpaint the batch in one pass; Stitch Inpaint pastes every crop back into the one original.
- `models/grounding-dino/{em.GROUNDING_DINO}`, `models/sams/{em.SAM}` (see the remove-by-text workflow).
{MODELS}""", (0, -300))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    dino = g.add("BrushEditGroundingDinoLoader", (0, 360), {"model_name": em.GROUNDING_DINO})
    sam = g.add("BrushEditSAMLoader", (0, 480), {"model_name": em.SAM})
    tm = g.add("BrushEditTextMask", (360, 360), {"prompt": "cake", "box_threshold": 0.3, "text_threshold": 0.25,
                                                 "mode": "one mask per object"}, grounding_dino=dino, sam=sam,
               image=img)
    crop = g.add("BrushEditCrop", (720, 360), {"width": 512, "height": 512, "mode": "each", "context": 1.5,
                                               "merge_distance": 32, "max_regions": 8}, image=img,
                 mask=_slot(tm, 0))
    ckpt, bnl = _models(g, 760)
    pos, neg = _prompts(g, ckpt, "empty wooden table, clean background", "cake, " + NEGATIVE)
    bn = g.add("BrushNet", (1080, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=_slot(crop, 0),
               mask=_slot(crop, 1), brushnet=bnl, positive=pos, negative=neg)
    dec = _sample(g, 1440, bn, ckpt)
    stitch = g.add("BrushEditStitch", (2160, 200), {"kernel": 10, "sigma": 10.0, "color_match": 1.0}, inpaint=dec,
                   canvas=_slot(crop, 3), mask=_slot(crop, 1), origin=_slot(crop, 2))
    g.add("SaveImage", (2520, 0), {"filename_prefix": "BrushEdit/many_regions"}, images=_slot(stitch, 0))


def soft_inpaint_differential_diffusion(g: UIGraph) -> None:
    g.note(f"""## Soft inpainting: denoise below 1 and Differential Diffusion
The image is VAE-encoded and connected to BrushNet's `source_latent`: its latent output is that latent with the
(feathered) mask as noise mask. KSampler keeps the original structure (denoise 0.7) and Differential Diffusion
lets the feathered edge change gradually instead of at a hard seam.
{MODELS}""", (0, -280))
    img = g.add("LoadImage", (0, 0), {"image": em.EXAMPLE_IMAGE})
    msk = g.add("LoadImageMask", (0, 360), {"image": em.EXAMPLE_MASK, "channel": "red"})
    soft = g.add("BrushEditMaskAdjust", (360, 440), {"feather": 16}, mask=msk)
    ckpt, bnl = _models(g)
    enc = g.add("VAEEncode", (720, 440), pixels=img, vae=_slot(ckpt, 2))
    pos, neg = _prompts(g, ckpt, "a wooden bench in a sunny park, detailed, natural light")
    bn = g.add("BrushNet", (1080, 0), {}, model=_slot(ckpt, 0), vae=_slot(ckpt, 2), image=img, mask=soft,
               brushnet=bnl, positive=pos, negative=neg, source_latent=enc)
    dd = g.add("DifferentialDiffusion", (1080, 440), {}, model=_slot(bn, 0))
    dec = _sample(g, 1440, bn, ckpt, denoise=0.7, model=dd)
    blend = g.add("BlendInpaint", (2160, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=soft)
    g.add("SaveImage", (2520, 0), {"filename_prefix": "BrushEdit/soft_inpaint"}, images=_slot(blend, 0))


BUILDERS: dict[str, Callable[[UIGraph], None]] = {
    "remove_object_prefill": remove_object_prefill,
    "color_match_inpaint": color_match_inpaint,
    "small_region_detail": small_region_detail,
    "many_regions_one_pass": many_regions_one_pass,
    "soft_inpaint_differential_diffusion": soft_inpaint_differential_diffusion,
}


def build_all(object_info: dict) -> dict[str, dict]:
    out = {}
    for name, builder in BUILDERS.items():
        g = UIGraph(object_info)
        builder(g)
        out[name] = g.to_json()
    return out


def main() -> None:
    _harness.boot_host()
    from demo.object_info import all_object_info

    for name, wf in build_all(all_object_info()).items():
        (WORKFLOWS / f"{name}.json").write_text(json.dumps(wf, indent=2) + "\n")
        write_thumbnail(name, WORKFLOWS / f"{name}.jpg")
        print(f"wrote workflows/{name}.json ({len(wf['nodes'])} nodes)")


if __name__ == "__main__":
    main()
