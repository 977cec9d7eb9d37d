"""Colour match of an inpainted region to its surroundings (mean / std in CIE Lab).

A diffusion model (and the VAE round trip) often shifts the colours of the whole generated
image a little: darker, warmer, less saturated. Inside the hole that shift shows as a visible
patch once the result is blended back. The shift is measured where the generated image and the
original show the same thing - a band of pixels just outside the mask - and removed from the
generated region:

    lab' = (lab - mean_gen_band) * std_orig_band / std_gen_band + mean_orig_band

mixed in by ``strength`` (0..1). The correction has full weight inside the mask and fades out
linearly across the band; pixels further out are returned bit-identical.
"""
from __future__ import annotations

import logging

import torch

from .mask_ops import ImageInputError

log = logging.getLogger(__name__)

_M_RGB_XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                           [0.2126729, 0.7151522, 0.0721750],
                           [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
_WHITE_D65 = (0.95047, 1.0, 1.08883)
_EPS = (6.0 / 29.0) ** 3
MIN_BAND_PIXELS = 16  # fewer band pixels than this give no reliable statistics: no correction
_STD_FLOOR = 1.0  # Lab units; a flatter band matches the mean only
_RATIO_RANGE = (0.5, 2.0)  # the std ratio is kept in this range (a tiny band cannot blow colours up)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB (0..1, ``[..., 3]``) to CIE Lab (D65), computed in float64."""
    c = rgb.double().clamp(0.0, 1.0)
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ _M_RGB_XYZ.T.to(lin.device)
    xyz = xyz / torch.tensor(_WHITE_D65, dtype=torch.float64, device=lin.device)
    f = torch.where(xyz > _EPS, xyz.clamp_min(0.0) ** (1.0 / 3.0), xyz / (3 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    fx, fy, fz = f.unbind(-1)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab (D65, float64) back to sRGB 0..1 (clamped)."""
    lum, a, b = lab.double().unbind(-1)
    fy = (lum + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=-1)
    xyz = torch.where(f > 6.0 / 29.0, f ** 3, 3 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0))
    xyz = xyz * torch.tensor(_WHITE_D65, dtype=torch.float64, device=lab.device)
    lin = (xyz @ torch.linalg.inv(_M_RGB_XYZ).T.to(lab.device)).clamp_min(0.0)
    srgb = torch.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1.0 / 2.4) - 0.055)
    return srgb.clamp(0.0, 1.0)


def band_distance(hole: torch.Tensor, band: int) -> tuple[torch.Tensor, tuple[int, int, int, int]] | None:
    """Euclidean distance (pixels) from each pixel to the nearest hole pixel, within the hole's
    bounding box grown by ``band``: ``(dist, (x0, y0, x1, y1))``; 0 inside the hole. None when the
    hole is empty."""
    from scipy.ndimage import distance_transform_edt

    from .mask_ops import expand_bbox, nonzero_bbox

    bbox = nonzero_bbox(hole.float())
    if bbox is None:
        return None
    h, w = hole.shape
    x0, y0, x1, y1 = expand_bbox(bbox, band + 1, h, w)
    window = hole[y0:y1, x0:x1].cpu().numpy()
    dist = torch.from_numpy(distance_transform_edt(~window)).float().to(hole.device)
    return dist, (x0, y0, x1, y1)


def match_color(generated: torch.Tensor, original: torch.Tensor, hole: torch.Tensor, band: int = 32,
                strength: float = 1.0, what: str = "image") -> torch.Tensor:
    """Remove the colour shift of ``generated`` (``[H, W, C]``) against ``original`` measured in a
    ``band``-pixel ring around ``hole`` (``[H, W]`` bool). Returns a new ``[H, W, C]`` tensor
    equal (bit for bit) to ``generated`` wherever the correction weight is 0."""
    if not 0.0 <= float(strength) <= 1.0:
        raise ImageInputError(f"colour match strength must be within 0..1 (0 = off), got {strength}")
    if int(band) < 1:
        raise ImageInputError(f"colour match band must be >= 1 pixel, got {band}")
    if generated.shape[-1] < 3 or original.shape[-1] < 3:
        raise ImageInputError(f"colour match needs RGB images; {what} has {generated.shape[-1]} channel(s)")
    out = generated.clone()
    if strength == 0.0:
        return out
    found = band_distance(hole, int(band))
    if found is None:
        return out
    dist, (x0, y0, x1, y1) = found
    ring = (dist > 0) & (dist <= band)
    if int(ring.sum()) < MIN_BAND_PIXELS:
        log.info("[BrushEdit] colour match: only %d pixels around the mask of %s; left unchanged "
                 "(the mask covers almost the whole image)", int(ring.sum()), what)
        return out
    gen = generated[y0:y1, x0:x1, :3]
    gen_lab = rgb_to_lab(gen)
    ref_lab = rgb_to_lab(original[y0:y1, x0:x1, :3])
    g, r = gen_lab[ring], ref_lab[ring]
    mu_g, mu_r = g.mean(0), r.mean(0)
    sd_g, sd_r = g.std(0, unbiased=False), r.std(0, unbiased=False)
    ratio = torch.where((sd_g < _STD_FLOOR) | (sd_r < _STD_FLOOR), torch.ones_like(sd_g),
                        (sd_r / sd_g.clamp_min(1e-9)).clamp(*_RATIO_RANGE))
    weight = ((1.0 - (dist - 1.0) / band).clamp(0.0, 1.0) * (dist <= band)).double()
    weight = torch.where(dist == 0, torch.ones_like(weight), weight) * float(strength)
    target = (gen_lab - mu_g) * ratio + mu_r
    lab = gen_lab + (target - gen_lab) * weight[..., None]
    rgb = lab_to_rgb(lab).to(generated.dtype)
    touched = weight > 0
    out[y0:y1, x0:x1, :3] = torch.where(touched[..., None], rgb, gen)
    log.debug("[BrushEdit] colour match %s: Lab shift %s, std ratio %s", what,
              [round(float(v), 2) for v in (mu_r - mu_g)], [round(float(v), 3) for v in ratio])
    return out
