"""Diagnosis for the GPU check: is random-weight MAT chaotic (fp32 vs fp64 on the CPU differ as much as
GPU vs CPU), or does the GPU path differ? Raw (unclamped) outputs are compared."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from brushnet_core import inpaint_models  # noqa: E402
from image_tools import _inpaint_models as im  # noqa: E402


def rel(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    return float((a - b).abs().max() / b.abs().max())


torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
model = inpaint_models.load_inpaint_model(im.random_mat_state_dict(seed=1), "mat")
g = torch.Generator().manual_seed(0)
x = torch.rand(1, 3, 512, 512, generator=g)
m = torch.zeros(1, 1, 512, 512)
m[..., 150:350, 200:330] = 1
mod = model.module
with torch.no_grad():
    cpu32 = mod(x, m)
    cpu_eps = mod((x + 1e-6 * torch.randn(x.shape, generator=g)).clamp(0, 1), m)
    mod.cuda()
    mod.z, mod.label = mod.z.cuda(), mod.label.cuda()
    gpu_a = mod(x.cuda(), m.cuda())
    gpu_b = mod(x.cuda(), m.cuda())
print("range cpu32", float(cpu32.min()), float(cpu32.max()))
print("rel cpu vs cpu with 1e-6 input noise", rel(cpu_eps, cpu32))
print("rel gpu vs cpu", rel(gpu_a, cpu32))
print("rel gpu vs gpu (repeat)", rel(gpu_a, gpu_b))
hole = m[0, 0] > 0.5
print("rel inside hole gpu vs cpu", rel(gpu_a[0][:, hole], cpu32[0][:, hole]))
print("rel outside hole gpu vs cpu", rel(gpu_a[0][:, ~hole], cpu32[0][:, ~hole]))
