"""Pre-fill for removal: the hole filled before sampling (neutral, blur, OpenCV, big-lama, MAT)."""
from __future__ import annotations

import logging

import torch
from comfy_api.latest import io

import comfy.utils

from ..brushnet_core.image.inpaint_models import EXTRA_ARCHES_PACKAGE, InpaintModel, load_inpaint_file
from ..brushnet_core.image.prefill import LEARNED, METHODS, OPENCV_PACKAGE, PrefillError, prefill
from .glue.folders import INPAINT_MODEL_FOLDERS, check_model, list_models, resolve_model
from .glue.managed import ManagedModel, manage
from .glue.schema import search_aliases
from .glue.sockets import InpaintModelType

log = logging.getLogger("BrushEdit")

_MODEL_EXTS = (".pt", ".pth", ".safetensors", ".ckpt", ".bin")
#: how an inpaint model file is resolved and reported when missing
INPAINT_MODEL_FILE = {"what": "inpaint model", "fix": "put big-lama.pt or MAT_Places512_G_fp16.safetensors in "
                      "models/inpaint"}


class LoadedInpaintModel(ManagedModel):
    """What the loader hands on: the InpaintModel (``model``) and the ModelPatcher ComfyUI moves and frees."""

    @property
    def model(self) -> InpaintModel:
        return self.bundle


def list_inpaint_models() -> list[str]:
    return list_models(INPAINT_MODEL_FOLDERS, _MODEL_EXTS)


class BrushEditInpaintModelLoader(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditInpaintModelLoader",
            **search_aliases("lama", "big-lama", "mat", "inpaint model loader", "object removal model"),
            display_name="Inpaint Model Loader (LaMa / MAT)",
            category="BrushEdit/inpaint",
            description=(
                "Loads a learned inpainting model for the Pre-fill node through spandrel: big-lama "
                "(big-lama.pt, read out of the box) or MAT (MAT_Places512_G_fp16.safetensors, needs "
                f"the {EXTRA_ARCHES_PACKAGE} package). Files go in models/inpaint. Only tensors are "
                "read; pickled code is never run."),
            inputs=[
                io.Combo.Input("model_name", options=list_inpaint_models(),
                               tooltip="big-lama.pt or MAT_Places512_G_fp16.safetensors from models/inpaint."),
            ],
            outputs=[
                InpaintModelType.Output("inpaint_model", display_name="inpaint_model",
                                        tooltip="The loaded model, for Pre-fill's inpaint_model input "
                                        "(methods lama / mat)."),
            ],
        )

    @classmethod
    def validate_inputs(cls, model_name: str) -> bool | str:
        return check_model(INPAINT_MODEL_FOLDERS, model_name, **INPAINT_MODEL_FILE)

    @classmethod
    def execute(cls, model_name: str) -> io.NodeOutput:
        model = load_inpaint_file(resolve_model(INPAINT_MODEL_FOLDERS, model_name, **INPAINT_MODEL_FILE))
        return io.NodeOutput(LoadedInpaintModel(model, manage(model.module)))


class BrushEditPrefill(io.ComfyNode):
    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="BrushEditPrefill",
            **search_aliases("prefill", "fill hole", "lama inpaint", "remove object", "telea", "navier-stokes"),
            display_name="Pre-fill Masked Area (BrushEdit)",
            category="BrushEdit/inpaint",
            description=(
                "Fills the masked hole before sampling, so that removing an object leaves no ghost of "
                "it: with denoise below 1 the sampler starts from what is in the hole. Connect the "
                "result to VAE Encode and the BrushNet / PowerPaint source_latent. Only pixels inside "
                "the mask (> 0.5) change; the rest stay bit-identical."),
            inputs=[
                io.Image.Input("image", tooltip="The image whose masked area is filled."),
                io.Mask.Input("mask", tooltip="Area to fill (1 = fill, binarised at 0.5). A mask of another "
                                              "size with the same aspect is resized."),
                io.Combo.Input("method", options=list(METHODS), default="blur",
                               tooltip="neutral: mean colour of the surroundings. blur: surrounding colours "
                                       "pulled in from the border (coarse-to-fine masked blur). telea / "
                                       f"navier-stokes: OpenCV's inpaint (needs {OPENCV_PACKAGE}). lama / mat: "
                                       "a learned model (connect inpaint_model), best for removal."),
                InpaintModelType.Input("inpaint_model", optional=True,
                                       tooltip="big-lama or MAT from Inpaint Model Loader; needed by the lama "
                                               "and mat methods, ignored by the others."),
            ],
            outputs=[
                io.Image.Output("filled_image", display_name="image",
                                tooltip="The image with the masked area filled."),
            ],
        )

    @classmethod
    def execute(cls, image: torch.Tensor, mask: torch.Tensor, method: str,
                inpaint_model: LoadedInpaintModel | None = None) -> io.NodeOutput:
        model = None
        if method in LEARNED:
            if inpaint_model is not None and not isinstance(inpaint_model, LoadedInpaintModel):
                raise PrefillError("inpaint_model must come from Inpaint Model Loader (BrushEdit)")
            if inpaint_model is not None and inpaint_model.model.kind != method:
                other = inpaint_model.model.kind
                raise PrefillError(f"method is {method} but the connected model ({inpaint_model.model.name}) is "
                                   f"{'big-lama' if other == 'lama' else 'MAT'}: choose method {other}, or load "
                                   f"the {'big-lama' if method == 'lama' else 'MAT'} file")
            if inpaint_model is not None:
                inpaint_model.load()
                model = inpaint_model.model
        elif inpaint_model is not None:
            log.info("[BrushEdit] Pre-fill: method %s does not use the connected inpaint model", method)
        count = max(int(image.shape[0]) if image.ndim == 4 else 1, int(mask.shape[0]) if mask.ndim == 3 else 1)
        bar = comfy.utils.ProgressBar(count)
        out = prefill(image, mask, method, model=model,
                      model_size=model.size if model else 512, model_square=model.square if model else False,
                      model_multiple=model.multiple if model else 8, progress=lambda: bar.update(1))
        return io.NodeOutput(out.to(image.dtype))


NODES: list[type[io.ComfyNode]] = [BrushEditInpaintModelLoader, BrushEditPrefill]
