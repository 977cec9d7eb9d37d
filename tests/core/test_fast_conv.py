"""Small-map convolutions by matrix product: same values as conv2d, used only where they pay off."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from brushnet_core.branch.config import SD15_CONFIG
from brushnet_core.branch.fast_conv import MATMUL_MAX_PIXELS, conv2d_by_matmul, prefers_matmul, run_conv
from brushnet_core.branch.model import BrushNetModel


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("stride,size", [(1, 8), (1, 11), (2, 16), (2, 13)])
def test_matmul_convolution_equals_conv2d(batch: int, stride: int, size: int) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(24, 40, 3, stride=stride, padding=1)
    x = torch.randn(batch, 24, size, size)
    with torch.no_grad():
        expected = F.conv2d(x.double(), conv.weight.double(), conv.bias.double(), stride, 1)
        got = conv2d_by_matmul(conv, x)
    assert got.shape == expected.shape and got.dtype == torch.float32
    assert _rel(got, expected) < 1e-6


def test_matmul_is_chosen_only_for_small_fp32_cpu_3x3_maps() -> None:
    conv3, conv1 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 1)
    side = int(MATMUL_MAX_PIXELS ** 0.5)
    assert prefers_matmul(conv3, torch.zeros(1, 8, side, side))
    assert not prefers_matmul(conv3, torch.zeros(1, 8, side + 1, side + 1))  # large map: direct conv is faster
    assert not prefers_matmul(conv1, torch.zeros(1, 8, 4, 4))  # 1x1 is already a matrix product
    assert not prefers_matmul(conv3.double(), torch.zeros(1, 8, 4, 4, dtype=torch.float64))
    conv3.float().comfy_cast_weights = True  # ComfyUI low-VRAM casting: the layer must run itself
    assert not prefers_matmul(conv3, torch.zeros(1, 8, 4, 4))


def test_run_conv_falls_back_to_the_layer_on_large_maps() -> None:
    conv = nn.Conv2d(4, 4, 3, padding=1)
    calls = []
    conv.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        run_conv(conv, torch.zeros(1, 4, 32, 32))
        run_conv(conv, torch.zeros(1, 4, 8, 8))
    assert calls == [1]


def test_fast_branch_equals_reference_branch_to_fp32_rounding() -> None:
    """The inference path (in place + matmul on the deep levels) against the plain layer-by-layer path."""
    from dataclasses import replace

    from demo.random_weights import randomize_

    config = replace(SD15_CONFIG, block_out_channels=(32, 64, 128, 128))
    model = randomize_(BrushNetModel(config), seed=4).eval()
    g = torch.Generator().manual_seed(1)
    x, cond, t = torch.randn(1, 4, 64, 64, generator=g), torch.randn(1, 5, 64, 64, generator=g), torch.tensor([400.0])
    with torch.inference_mode():
        model.inplace_inference = False
        slow = model(x, t, cond)
        model.inplace_inference = True
        fast = model(x, t, cond)
    pairs = list(zip(fast.down + [fast.mid] + fast.up, slow.down + [slow.mid] + slow.up))
    assert len(pairs) == 28  # 12 down, 1 mid, 15 up
    assert max(_rel(a, b) for a, b in pairs) < 1e-5
    assert any(not torch.equal(a, b) for a, b in pairs)  # the matmul path did run on the 16x16 and 8x8 levels
