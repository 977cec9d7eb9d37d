"""Turning a ComfyUI image + mask into what BrushNet reads (pure torch).

Conventions: IMAGE [B,H,W,C] in 0..1; MASK [B,H,W] (or [H,W], [B,1,H,W]) with 1 = inpaint.
BrushNet sees the image with the hole blacked out and an inverted (1 = keep) mask at latent size.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .mask_ops import as_mask_batch, fit_mask
from ..errors import BrushEditError

log = logging.getLogger("BrushEdit")


class InpaintInputError(BrushEditError, ValueError):
    """Image/mask combination that cannot be inpainted, with the fix in the message."""


@dataclass
class InpaintInputs:
    image: torch.Tensor         # [B,H8,W8,3], cropped to a multiple of 8
    hole: torch.Tensor          # [B,1,H8,W8], 1 = inpaint (binary)
    masked_image: torch.Tensor  # [B,H8,W8,3], the image with the hole set to 0
    soft_mask: torch.Tensor | None = None  # [B,H8,W8], the mask as given (0..1), for the latent's noise mask


def broadcast_batches(image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Image batch N with 1 or N masks, or one image with N masks."""
    bi, bm = image.shape[0], mask.shape[0]
    if bi == bm:
        return image, mask
    if bm == 1:
        return image, mask.expand(bi, -1, -1)
    if bi == 1:
        return image.expand(bm, -1, -1, -1), mask
    raise InpaintInputError(
        f"image batch has {bi} images but the mask batch has {bm} masks: give one mask, or one mask per image"
    )


def crop_to_multiple(t: torch.Tensor, multiple: int = 8) -> torch.Tensor:
    """Centre-crop [B,H,W,...] to a multiple of ``multiple`` (as ComfyUI's VAEEncodeForInpaint does)."""
    h, w = t.shape[1], t.shape[2]
    nh, nw = (h // multiple) * multiple, (w // multiple) * multiple
    if (nh, nw) == (h, w):
        return t
    if nh == 0 or nw == 0:
        raise InpaintInputError(f"image is {w}x{h}; it must be at least {multiple}x{multiple} pixels")
    oy, ox = (h % multiple) // 2, (w % multiple) // 2
    return t[:, oy:oy + nh, ox:ox + nw]


DEFAULT_MAX_PIXELS = 4096 * 4096


def check_size(height: int, width: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Refuse images far beyond what SD1.5/SDXL BrushNet can use, before any heavy work."""
    if height * width > max_pixels:
        raise InpaintInputError(
            f"image is {width}x{height} ({height * width / 1e6:.1f} MP), above the {max_pixels / 1e6:.1f} MP limit: "
            "BrushNet works at 512-1024 px. Crop around the mask with Cut For Inpaint and paste the result back with "
            "Blend Inpaint (origin), or downscale the image. (BRUSHEDIT_MAX_PIXELS raises the limit.)"
        )


def prepare_inpaint(image: torch.Tensor, mask: torch.Tensor, multiple: int = 8, threshold: float = 0.5,
                    max_pixels: int = DEFAULT_MAX_PIXELS) -> InpaintInputs:
    """Validate, align and binarise; black out the hole (pixel 0 = -1 in VAE space).

    A mask of another size follows the pack's one rule (``mask_ops.fit_mask``): resized when the
    aspect ratio is the same, an error naming both sizes when it is not.
    """
    if image.ndim != 4 or image.shape[-1] not in (1, 3, 4):
        raise InpaintInputError(f"image has shape {tuple(image.shape)}; expected an IMAGE [B,H,W,C]")
    check_size(image.shape[1], image.shape[2], max_pixels)
    image = image[..., :3] if image.shape[-1] >= 3 else image.expand(-1, -1, -1, 3)
    mask = fit_mask(as_mask_batch(mask).to(image.device), image.shape[1], image.shape[2])
    image, mask = broadcast_batches(image, mask)
    image = crop_to_multiple(image, multiple)
    mask = crop_to_multiple(mask, multiple)
    hole = (mask > threshold).to(image.dtype)
    if not bool(hole.any()):
        raise InpaintInputError(
            "the mask is empty (nothing to inpaint): draw the region to repaint in white, or check that the "
            "mask is not inverted"
        )
    for i in range(hole.shape[0]):
        if not bool(hole[i].any()):
            log.warning("[BrushEdit] mask %d of the batch is empty: that image will be regenerated unguided", i)
    if bool(hole.all()):
        log.warning("[BrushEdit] the mask covers the whole image: BrushNet has no context to keep")
    masked = image * (1.0 - hole[..., None])
    return InpaintInputs(image=image, hole=hole[:, None], masked_image=masked, soft_mask=mask)


def conditioning_latent(masked_latent: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """[masked-image latent, keep mask (1 = keep) at latent size, nearest] -> [B,5,h,w]."""
    keep = 1.0 - F.interpolate(hole.float(), size=masked_latent.shape[-2:], mode="nearest")
    return torch.cat([masked_latent.float(), keep.to(masked_latent.device)], dim=1)


def output_latent(source: dict | None, inputs: InpaintInputs, channels: int, latent_hw: tuple[int, int],
                  device: torch.device) -> dict:
    """The LATENT the node hands to the sampler.

    Without ``source``: zeros of the (cropped) image's latent size, to sample with denoise 1.0.
    With ``source`` (VAE Encode of the same image, or a pre-filled one): those samples plus a
    ``noise_mask`` (the node's mask, soft values kept, unless the source already carries one), so
    denoise below 1 keeps the source outside the mask and Differential Diffusion reads the mask.
    """
    b, _, h8, w8 = inputs.hole.shape
    h, w = int(latent_hw[0]), int(latent_hw[1])
    if source is None:
        return {"samples": torch.zeros([b, channels, h, w], device=device)}
    samples = source.get("samples") if isinstance(source, dict) else None
    if not isinstance(samples, torch.Tensor) or samples.ndim != 4:
        raise InpaintInputError("source_latent must be a LATENT (e.g. from VAE Encode of the image); got "
                                f"{type(samples if samples is not None else source).__name__}")
    if samples.shape[1] != channels:
        raise InpaintInputError(f"source_latent has {samples.shape[1]} channels but this model's latents have "
                                f"{channels}: encode the image with this model's VAE")
    if tuple(samples.shape[-2:]) != (h, w):
        raise InpaintInputError(
            f"source_latent is {samples.shape[-1]}x{samples.shape[-2]} (latent pixels) but the image to inpaint "
            f"is {w8}x{h8}, a {w}x{h} latent: VAE Encode the same image "
            "(after any crop or resize) and connect that")
    if samples.shape[0] not in (1, b):
        raise InpaintInputError(f"source_latent holds {samples.shape[0]} latents for {b} images: give one, or one "
                                "per image")
    out = {k: v for k, v in source.items() if k not in ("samples", "noise_mask")}
    out["samples"] = samples.expand(b, -1, -1, -1).clone() if samples.shape[0] != b else samples
    given = source.get("noise_mask")
    if given is not None:
        out["noise_mask"] = given
    else:
        soft = inputs.soft_mask if inputs.soft_mask is not None else inputs.hole[:, 0]
        out["noise_mask"] = soft.float().reshape(b, 1, h8, w8).to(device)
    return out
