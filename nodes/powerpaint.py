"""PowerPaint v2 (the earlier ComfyUI-BrushNet pack's `PowerPaint` and `PowerPaintCLIPLoader` nodes).

PowerPaint's BrushNet branch reads a task prompt (``P_ctxt``/``P_shape``/``P_obj`` vectors encoded
by the PowerPaint CLIP), not the user's prompt: the positive side reads the function's positive
task prompt, the negative side its negative one. Each conditioning entry carries its side's task
context as a model cond, so ComfyUI batches it with the right cond/uncond item.
"""
from __future__ import annotations

import copy
import logging
import os
from typing import Any

import torch
from comfy_api.latest import io

import comfy.sd
import folder_paths

from ..brushnet_core.branch.checkpoint import WEIGHT_EXTENSIONS, read_state_dict
from ..brushnet_core.branch.config import SD15
from ..brushnet_core.branch.injection import FeatureSlot, IncompatibleModelError
from ..brushnet_core.powerpaint.runner import PowerPaintRunner
from ..brushnet_core.powerpaint.tokens import (FUNCTIONS, PowerPaintTokensError, install_task_tokens, mix,
                                               read_text_encoder, task_prompts)
from . import compat
from .glue.errors import OptionError
from .glue.folders import BRUSHNET_FOLDERS, TEXT_ENCODER_FOLDERS, check_model, list_models, resolve_model
from .glue.inpaint import (base_model_kind, branch_outputs, check_pairing, inpaint_with_branch, require_vae,
                           schedule_inputs, strength_inputs, unwrap_branch)
from .glue.schema import search_aliases
from .glue.sockets import BrushNetModelType

log = logging.getLogger("BrushEdit")

SAVE_MEMORY = ("none", "auto", "max")
#: how the two files of PowerPaintCLIPLoader are resolved and reported when missing
BASE_CLIP = {"what": "text encoder", "fix": "put the SD1.5 CLIP-L text encoder (e.g. stable-diffusion-v1-5 "
             "text_encoder/model.safetensors) in models/text_encoders or models/clip"}
POWERPAINT_TEXT_ENCODER = {"what": "PowerPaint text encoder", "fix": "put PowerPaint_Brushnet/pytorch_model.bin in "
                           "models/inpaint or models/brushnet"}


# ----------------------------------------------------------------------------- CLIP side
def _word_tokenizer(clip: Any) -> Any:
    tok = getattr(clip, "tokenizer", None)
    return getattr(tok, getattr(tok, "clip", ""), None) if tok is not None else None


def check_sd15_clip(clip: Any, what: str = "clip") -> None:
    """An SD1.5 CLIP-L (one CLIP-L text encoder), or a ValueError naming what it is instead."""
    import comfy.sd1_clip

    tok = getattr(clip, "tokenizer", None)
    if tok is None:
        raise PowerPaintTokensError(f"{what} is a {type(clip).__name__}, not a CLIP: connect a CLIP output")
    if hasattr(tok, "clip_g"):
        kind = "an SDXL CLIP (CLIP-L + CLIP-G)" if hasattr(tok, "clip_l") else "a CLIP-G (SDXL refiner) CLIP"
    elif isinstance(tok, comfy.sd1_clip.SD1Tokenizer) and getattr(tok, "clip", "") == "clip_l":
        return
    elif isinstance(tok, comfy.sd1_clip.SD1Tokenizer):
        kind = f"a {getattr(tok, 'clip', '?').replace('clip_', 'CLIP-').upper()} CLIP (e.g. SD2)"
    else:
        kind = f"a {type(tok).__name__.replace('Tokenizer', '')} text encoder"
    raise PowerPaintTokensError(
        f"{what} is {kind}; PowerPaint v2 needs the SD1.5 CLIP-L text encoder (e.g. "
        "stable-diffusion-v1-5 text_encoder/model.safetensors) loaded through PowerPaintCLIPLoader"
    )


def check_powerpaint_clip(clip: Any, width: int) -> dict[str, torch.Tensor]:
    """The task vectors of a CLIP from PowerPaintCLIPLoader, checked against the model's context width."""
    check_sd15_clip(clip)
    vectors = getattr(_word_tokenizer(clip), "powerpaint_task_tokens", None)
    if not vectors:
        raise PowerPaintTokensError(
            "this CLIP has no PowerPaint task tokens (P_ctxt, P_shape, P_obj): connect the output of "
            "PowerPaintCLIPLoader (SD1.5 CLIP-L + PowerPaint_Brushnet/pytorch_model.bin) to the clip input"
        )
    got = int(next(iter(vectors.values())).shape[-1])
    if got != width:
        raise PowerPaintTokensError(f"the PowerPaint CLIP encodes {got}-wide vectors but this PowerPaint BrushNet reads {width}")
    return vectors


def load_powerpaint_clip(base_path: str, powerpaint_path: str, embedding_directory: Any = None,
                         model_options: dict | None = None):
    """The base CLIP-L with PowerPaint's text-encoder weights and task tokens (a new CLIP object)."""
    name = os.path.basename(powerpaint_path)
    encoder = read_text_encoder(read_state_dict(powerpaint_path), source=name)
    clip = comfy.sd.load_clip(ckpt_paths=[base_path], embedding_directory=embedding_directory,
                              clip_type=comfy.sd.CLIPType.STABLE_DIFFUSION, model_options=model_options or {})
    check_sd15_clip(clip, what=f"base {os.path.basename(base_path)}")
    width = int(clip.cond_stage_model.clip_l.transformer.get_input_embeddings().weight.shape[-1])
    if encoder.width != width:
        raise PowerPaintTokensError(f"{name} holds {encoder.width}-wide task tokens but the base CLIP is {width} wide: "
                         "use the SD1.5 CLIP-L (768) as base")
    if encoder.weights:
        try:
            missing, unexpected = clip.load_sd(encoder.weights)
        except RuntimeError as err:
            raise PowerPaintTokensError(f"{name}: its text-encoder weights do not fit the base CLIP-L: {err}") from None
        log.info("[BrushEdit] PowerPaint CLIP: %d text-encoder tensors from %s applied (%d ignored)",
                 len(encoder.weights) - len(unexpected), name, len(unexpected))
    tokenizer = copy.copy(clip.tokenizer)
    setattr(tokenizer, tokenizer.clip, install_task_tokens(
        copy.copy(getattr(tokenizer, tokenizer.clip)), encoder.tokens, lookup_arity=compat.features().tokenizer_lookup_arity))
    clip.tokenizer = tokenizer
    log.info("[BrushEdit] PowerPaint CLIP ready: task tokens %s",
             ", ".join(f"{k} x{v.shape[0]}" for k, v in encoder.tokens.items()))
    return clip


def encode_text(clip: Any, text: str) -> torch.Tensor:
    return clip.encode_from_tokens(clip.tokenize(text), return_pooled=False).float()


class PowerPaintCLIPLoader(io.ComfyNode):
    """Same id, inputs and output as the earlier ComfyUI-BrushNet pack's node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PowerPaintCLIPLoader",
            display_name="PowerPaint CLIP Loader",
            category="inpaint",
            **search_aliases("powerpaint clip", "powerpaint text encoder", "task tokens"),
            description="Loads the SD1.5 CLIP-L text encoder with PowerPaint's text-encoder weights and learned task "
                        "tokens (P_ctxt, P_shape, P_obj). Connect it to the PowerPaint node's clip input.",
            inputs=[
                io.Combo.Input("base", options=list_models(TEXT_ENCODER_FOLDERS),
                               tooltip="SD1.5 CLIP-L text encoder (e.g. stable-diffusion-v1-5 text_encoder/"
                                       "model.safetensors) from models/clip or models/text_encoders."),
                io.Combo.Input("powerpaint", options=list_models(BRUSHNET_FOLDERS, WEIGHT_EXTENSIONS),
                               tooltip="PowerPaint_Brushnet/pytorch_model.bin (the PowerPaint text encoder with the "
                                       "task tokens) from models/inpaint or models/brushnet."),
            ],
            outputs=[io.Clip.Output(display_name="clip", tooltip="A new CLIP with the PowerPaint task tokens; "
                                                                  "other nodes' CLIPs are not changed.")],
        )

    @classmethod
    def validate_inputs(cls, base: str, powerpaint: str) -> bool | str:
        """Reject missing files at queue time, naming them and where they go."""
        found = check_model(TEXT_ENCODER_FOLDERS, base, **BASE_CLIP)
        return found if found is not True else check_model(BRUSHNET_FOLDERS, powerpaint, **POWERPAINT_TEXT_ENCODER)

    @classmethod
    def execute(cls, base: str, powerpaint: str) -> io.NodeOutput:
        clip = load_powerpaint_clip(resolve_model(TEXT_ENCODER_FOLDERS, base, **BASE_CLIP),
                                    resolve_model(BRUSHNET_FOLDERS, powerpaint, **POWERPAINT_TEXT_ENCODER),
                                    embedding_directory=folder_paths.get_folder_paths("embeddings"))
        return io.NodeOutput(clip)


# ----------------------------------------------------------------------------- sampling side
class PowerPaint(io.ComfyNode):
    """Same id, inputs (order) and outputs as the earlier ComfyUI-BrushNet pack's node."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="PowerPaint",
            display_name="PowerPaint",
            category="inpaint",
            **search_aliases("powerpaint", "object removal", "shape guided inpaint", "outpaint", "inpaint"),
            description="Adds PowerPaint v2 to an SD1.5 model: its BrushNet branch reads the chosen function's task "
                        "prompt and its features are added into the UNet. Connect all four outputs to the sampler.",
            inputs=[
                io.Model.Input("model", tooltip="Any SD1.5 (non-inpainting) model, LoRAs allowed."),
                io.Vae.Input("vae", tooltip="The VAE of that model; encodes the image with the hole blacked out."),
                io.Image.Input("image", tooltip="The image to inpaint. Sizes not divisible by 8 are centre-cropped."),
                io.Mask.Input("mask", tooltip="White (1) = region to repaint; binarised at 0.5."),
                BrushNetModelType.Input("powerpaint", tooltip="The PowerPaint v2 BrushNet from the BrushNet Loader."),
                io.Clip.Input("clip", tooltip="The CLIP from PowerPaintCLIPLoader (encodes the task prompts)."),
                io.Conditioning.Input("positive", tooltip="Positive prompt for the UNet (for object removal the "
                                                          "authors add 'empty scene blur', outpainting 'empty scene')."),
                io.Conditioning.Input("negative", tooltip="Negative prompt for the UNet."),
                io.Float.Input("fitting", default=1.0, min=0.3, max=1.0, step=0.01,
                               tooltip="Fitting degree: how closely a shape-guided object follows the mask shape "
                                       "(mixes P_shape with P_ctxt); 1.0 = fully."),
                io.Combo.Input("function", options=list(FUNCTIONS), default="text guided",
                               tooltip="PowerPaint task: which learned task prompt the branch reads."),
                *strength_inputs("PowerPaint"),
                io.Combo.Input("save_memory", options=list(SAVE_MEMORY), default="none", optional=True,
                               tooltip="Compute the branch's attention in slices to save memory (auto: half the "
                                       "heads at a time, max: one at a time); same result, slower."),
                *schedule_inputs("PowerPaint"),
            ],
            outputs=branch_outputs("PowerPaint", "PowerPaint's inputs"),
        )

    @classmethod
    def execute(cls, model, vae, image, mask, powerpaint, clip, positive, negative, fitting: float, function: str,
                scale: float, start_at: int, end_at: int, save_memory: str = "none", start_percent: float = 0.0,
                end_percent: float = 1.0, source_latent: dict | None = None) -> io.NodeOutput:
        require_vae("PowerPaint", vae)
        pp = unwrap_branch("PowerPaint", powerpaint)
        if save_memory not in SAVE_MEMORY:
            raise OptionError(f"save_memory must be one of {', '.join(SAVE_MEMORY)} (got {save_memory!r})")
        prompts = task_prompts(function)
        check_powerpaint_clip(clip, pp.config.cross_attention_dim)
        base_kind = base_model_kind(model)
        if base_kind != SD15:
            raise IncompatibleModelError(f"PowerPaint v2 is an SD1.5 model; this base model is {base_kind.upper()}: "
                                         "use an SD1.5 checkpoint")
        plan = check_pairing(model, pp)
        fitting = float(fitting)
        encoded: dict[str, torch.Tensor] = {}
        for text in (prompts.positive_a, prompts.positive_b, prompts.negative_a, prompts.negative_b):
            if text not in encoded:
                encoded[text] = encode_text(clip, text)
        contexts = (mix(encoded[prompts.positive_a], encoded[prompts.positive_b], fitting),
                    mix(encoded[prompts.negative_a], encoded[prompts.negative_b], fitting))
        if prompts.prompt_hint:
            log.info("[BrushEdit] PowerPaint %s: the authors add '%s' to the positive prompt", function, prompts.prompt_hint)
        return io.NodeOutput(*inpaint_with_branch(
            "PowerPaint", model, vae, image, mask, powerpaint, plan, positive, negative, scale=scale,
            start_at=start_at, end_at=end_at, start_percent=start_percent, end_percent=end_percent,
            source_latent=source_latent,
            make_runner=lambda cond, window: PowerPaintRunner(pp, FeatureSlot(), cond, float(scale), window, contexts,
                                                              save_memory)))


NODES = [PowerPaintCLIPLoader, PowerPaint]
