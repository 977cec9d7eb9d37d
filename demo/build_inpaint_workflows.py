"""(Re)generate the planner workflows for ComfyUI's own inpainting models in workflows/.

The plan's category, mask and caption drive InpaintModelConditioning with an SD1.5/SDXL inpainting
checkpoint, or Flux.1 Fill; both end with the exact blend (Blend Inpaint). Run with the host python
from the repository root: ``.host/venv/bin/python -m demo.build_inpaint_workflows``.
"""
from __future__ import annotations

import json
import sys

from . import example_models as em
from . import inpaint_models as im
from .build_workflows import NEGATIVE, ROOT, WORKFLOWS, write_thumbnail
from .ui_graph import Ref, UIGraph

INSTRUCTION = "remove the cake"


def _slot(ref: Ref, slot: int) -> Ref:
    return Ref(ref.node_id, slot)


def _plan_and_mask(g: UIGraph, x: int = 0) -> tuple[Ref, Ref, Ref]:
    """Image -> plan -> text mask -> category-applied mask. Returns (image, plan, mask)."""
    img = g.add("LoadImage", (x, 0), {"image": em.EXAMPLE_IMAGE})
    rules = g.add("BrushEditPlannerRules", (x, 360), {})
    plan = g.add("BrushEditPlanner", (x + 360, 360), {"instruction": INSTRUCTION}, image=img, planner=rules)
    dino = g.add("BrushEditGroundingDinoLoader", (x, 560), {"model_name": em.GROUNDING_DINO})
    sam = g.add("BrushEditSAMLoader", (x, 680), {"model_name": em.SAM})
    tm = g.add("BrushEditTextMask", (x + 720, 360), {"mode": "union"}, grounding_dino=dino, sam=sam, image=img,
               prompt=_slot(plan, 2))
    pm = g.add("BrushEditPlanMask", (x + 1080, 360), {"grow_remove_px": 20}, image=img, plan=_slot(plan, 0),
               mask=_slot(tm, 0))
    return img, plan, pm


def _tail(g: UIGraph, x: int, model: Ref, positive: Ref, negative: Ref, vae: Ref, img: Ref, mask: Ref,
          prefix: str, sampler: dict) -> None:
    imc = g.add("InpaintModelConditioning", (x, 0), {"noise_mask": True}, positive=positive, negative=negative,
                vae=vae, pixels=img, mask=mask)
    ks = g.add("KSampler", (x + 360, 0), dict({"seed": 42, "denoise": 1.0}, **sampler), model=model,
               positive=_slot(imc, 0), negative=_slot(imc, 1), latent_image=_slot(imc, 2))
    dec = g.add("VAEDecode", (x + 720, 0), samples=ks, vae=vae)
    blend = g.add("BlendInpaint", (x + 720, 200), {"kernel": 10, "sigma": 10.0}, inpaint=dec, original=img, mask=mask)
    g.add("SaveImage", (x + 1080, 0), {"filename_prefix": prefix}, images=_slot(blend, 0))


def instruction_edit_inpaint_model(g: UIGraph) -> None:
    g.note(f"""## Instruction editing with an inpainting checkpoint
The BrushEdit planner with ComfyUI's own inpainting path instead of BrushNet: the plan's category shapes
the mask (Plan Mask: grown for removal, inverted for background, whole image for global edits, the
planned box for additions), its target caption is the prompt, and InpaintModelConditioning feeds
the 9-channel inpainting model. Blend Inpaint puts the untouched pixels back exactly.
- `models/checkpoints/`: an SD1.5 inpainting checkpoint (here `{im.SD15_INPAINT_CHECKPOINT}`), or an SDXL
  inpainting one (e.g. `sd_xl_base_1.0_inpainting_0.1.safetensors`) with the same graph (CFG 5-8).
- GroundingDINO and SAM as in the text-removal workflow.""", (0, -300))
    img, plan, mask = _plan_and_mask(g)
    ckpt = g.add("CheckpointLoaderSimple", (0, 860), {"ckpt_name": im.SD15_INPAINT_CHECKPOINT})
    pos = g.add("CLIPTextEncode", (1440, 0), {}, clip=_slot(ckpt, 1), text=_slot(plan, 3),
                title="Positive (target caption)")
    neg = g.add("CLIPTextEncode", (1440, 200), {"text": NEGATIVE}, clip=_slot(ckpt, 1), title="Negative")
    _tail(g, 1800, _slot(ckpt, 0), pos, neg, _slot(ckpt, 2), img, mask, "BrushEdit/inpaint_model_edit",
          {"steps": 25, "cfg": 7.5, "sampler_name": "uni_pc", "scheduler": "normal"})


def instruction_edit_flux_fill(g: UIGraph) -> None:
    g.note(f"""## Instruction editing with Flux.1 Fill
The BrushEdit planner driving Flux.1 Fill: Plan Mask applies the plan's category to the mask, the target
caption is the prompt (Flux guidance 30, CFG 1, negative zeroed), InpaintModelConditioning adds the
masked image and mask, Blend Inpaint restores the untouched pixels exactly.
- `models/diffusion_models/{im.FLUX_FILL_UNET}`
- `models/text_encoders/{im.FLUX_CLIP_L}` and `{im.FLUX_T5XXL}` (or the fp8 T5)
- `models/vae/{im.FLUX_VAE}`
- GroundingDINO and SAM as in the text-removal workflow.""", (0, -300))
    img, plan, mask = _plan_and_mask(g)
    unet = g.add("UNETLoader", (0, 860), {"unet_name": im.FLUX_FILL_UNET, "weight_dtype": "default"})
    dd = g.add("DifferentialDiffusion", (360, 860), {}, model=unet)
    clip = g.add("DualCLIPLoader", (0, 1000), {"clip_name1": im.FLUX_CLIP_L, "clip_name2": im.FLUX_T5XXL,
                                               "type": "flux"})
    vae = g.add("VAELoader", (0, 1160), {"vae_name": im.FLUX_VAE})
    enc = g.add("CLIPTextEncode", (1440, 0), {}, clip=clip, text=_slot(plan, 3), title="Prompt (target caption)")
    guided = g.add("FluxGuidance", (1440, 200), {"guidance": 30.0}, conditioning=enc)
    zero = g.add("ConditioningZeroOut", (1440, 320), {}, conditioning=enc)
    _tail(g, 1800, dd, guided, zero, vae, img, mask, "BrushEdit/flux_fill_edit",
          {"steps": 20, "cfg": 1.0, "sampler_name": "euler", "scheduler": "normal"})


BUILDERS = {"instruction_edit_inpaint_model": instruction_edit_inpaint_model,
            "instruction_edit_flux_fill": instruction_edit_flux_fill}


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import _harness

    _harness.boot_host()
    from .object_info import all_object_info

    info = all_object_info()
    for name, builder in BUILDERS.items():
        g = UIGraph(info)
        builder(g)
        (WORKFLOWS / f"{name}.json").write_text(json.dumps(g.to_json(), indent=2) + "\n")
        write_thumbnail(name, WORKFLOWS / f"{name}.jpg")
        print(f"wrote workflows/{name}.json")


if __name__ == "__main__":
    main()
