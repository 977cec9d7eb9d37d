"""Blurred-blend CPU benchmark (BlendInpaint's core) on a large image.

    python -m benchmarks.blend_bench                 # 4096x4096, 2 threads, 7 repeats
    python -m benchmarks.blend_bench --quick         # 1024x1024, 3 repeats, seconds
    python -m benchmarks.blend_bench --size 2048 --threads 1 --repeat 5

Scenarios: an object mask (an ellipse over about a fifth of the image), a frame-filling mask
(its bounding box is the whole image: the worst case), an empty mask, and a 512x512 crop pasted
back through its CutForInpaint origin. Prints min / median wall time per scenario, and the time
of one plain copy of the image as a yardstick for the machine's memory bandwidth (the blend
itself must copy the original once). Not a test.
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from brushnet_core.image.blend import blend_inpaint
from brushnet_core.image.crop import cut_for_inpaint


def _ellipse(size: int, rx: float, ry: float) -> torch.Tensor:
    ys = torch.arange(size, dtype=torch.float32).view(-1, 1) - size / 2
    xs = torch.arange(size, dtype=torch.float32).view(1, -1) - size / 2
    return ((xs / rx) ** 2 + (ys / ry) ** 2 <= 1.0).float()[None]


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm-up (allocator, BLAS threads)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per scenario")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--kernel", type=int, default=21, help="BlendInpaint kernel")
    parser.add_argument("--sigma", type=float, default=3.5, help="BlendInpaint sigma")
    parser.add_argument("--quick", action="store_true", help="1024 px, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeat = 1024, 3
    torch.set_num_threads(args.threads)
    n = args.size
    gen = torch.Generator().manual_seed(0)
    original = torch.rand(1, n, n, 3, generator=gen)
    generated = torch.rand(1, n, n, 3, generator=gen)
    masks = {
        "object mask (~20% of the area)": _ellipse(n, n * 0.3, n * 0.2),
        "frame-filling mask (bbox = image)": _ellipse(n, n * 0.5, n * 0.5),
        "empty mask": torch.zeros(1, n, n),
    }
    print(f"blend_bench: {n}x{n} RGB, kernel={args.kernel} sigma={args.sigma}, "
          f"{torch.get_num_threads()} threads, {args.repeat} runs, torch {torch.__version__}")
    lo, med = _time(original.clone, args.repeat)
    print(f"  {'reference: one copy of the image':<40} min {lo:7.3f} s   median {med:7.3f} s")
    for name, mask in masks.items():
        lo, med = _time(lambda: blend_inpaint(generated, original, mask, args.kernel,
                                              args.sigma), args.repeat)
        print(f"  {name:<40} min {lo:7.3f} s   median {med:7.3f} s")
    crop, crop_mask, origin = cut_for_inpaint(original, masks["object mask (~20% of the area)"],
                                              512, 512)
    lo, med = _time(lambda: blend_inpaint(crop, original, crop_mask, args.kernel, args.sigma,
                                          origin), args.repeat)
    print(f"  {'512x512 crop pasted back via origin':<40} min {lo:7.3f} s   median {med:7.3f} s")


if __name__ == "__main__":
    main()
