"""Convolutions on small CPU feature maps as one matrix product (im2col), same values as conv2d.

On a CPU, oneDNN's direct convolution is efficient on large feature maps but slow on the small,
wide ones of the deep BrushNet levels (1280 channels at 16x16 and 8x8 for a 512 px SD1.5
image): there it reaches a third of the machine's matrix-product speed, because the weights
(up to 118 MB per layer) are streamed for only 64-256 output pixels. Unfolding the input and
multiplying by the weight matrix does the same sums in one large GEMM. Measured on the 2-core
CPU of this project (fp32, batch 1): 1280->1280 at 8x8 54.7 -> 17.4 ms, 2560->1280 at 8x8
101.7 -> 33.0 ms, 1280->1280 at 16x16 100.0 -> 58.5 ms; at 32x32 and above the direct
convolution is as fast or faster, so it is kept there. Against a float64 reference the matrix
product's error is about 10x smaller than the direct convolution's (4e-7 vs 4e-6 relative).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: output pixels per image up to which the matrix product is used (16x16)
MATMUL_MAX_PIXELS = 256


def prefers_matmul(conv: nn.Module, x: torch.Tensor) -> bool:
    """True when ``conv`` on ``x`` is a plain fp32 CPU 3x3 convolution on a small feature map."""
    weight = getattr(conv, "weight", None)
    if weight is None or weight.dim() != 4 or weight.shape[-1] == 1:
        return False  # 1x1 convolutions are already matrix products
    if getattr(conv, "comfy_cast_weights", False) or getattr(conv, "padding_mode", "zeros") != "zeros":
        return False  # ComfyUI casts/patches these weights on the fly: let the layer do it
    if x.device.type != "cpu" or x.dtype != torch.float32 or weight.dtype != torch.float32 or weight.device != x.device:
        return False
    stride, padding, dilation = conv.stride, conv.padding, conv.dilation
    if isinstance(padding, str) or dilation != (1, 1) or getattr(conv, "groups", 1) != 1:
        return False
    out_h = (x.shape[-2] + 2 * padding[0] - weight.shape[-2]) // stride[0] + 1
    out_w = (x.shape[-1] + 2 * padding[1] - weight.shape[-1]) // stride[1] + 1
    return out_h * out_w <= MATMUL_MAX_PIXELS


def conv2d_by_matmul(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` computed as weight-matrix x unfolded input (+ bias); call when ``prefers_matmul``."""
    weight, bias = conv.weight, conv.bias
    n, _, h, w = x.shape
    out_ch, _, kh, kw = weight.shape
    (sh, sw), (ph, pw) = conv.stride, conv.padding
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    columns = F.unfold(x, (kh, kw), padding=(ph, pw), stride=(sh, sw))  # [n, in*kh*kw, out_h*out_w]
    y = torch.matmul(weight.reshape(out_ch, -1), columns).view(n, out_ch, out_h, out_w)
    if bias is not None:
        y += bias.view(1, -1, 1, 1)
    return y


def run_conv(conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)``, by matrix product where that is faster on this device (inference only)."""
    if prefers_matmul(conv, x):
        return conv2d_by_matmul(conv, x)
    return conv(x)
