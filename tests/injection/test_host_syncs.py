"""Host-device synchronisations per model call: at most one, made by the pack's own code.

On a GPU every read of a tensor's value on the host (``.item()``, ``float()``, ``bool()``, ``.cpu()``,
``.tolist()``, ``torch.equal``, indexing with a Python list, ...) waits for all queued work and
empties CUDA's launch queue. The tracer below counts such reads made directly by the pack's code
(``brushnet_core/``, ``nodes/``) while sampling on the CPU, where the code path is the same: the
count is what the same call costs on a GPU. The runner also gets an oracle check: its sharing and
reuse decisions are the ones the per-tensor ``torch.equal`` comparisons give.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
from pathlib import Path

import pytest
import torch
from torch.overrides import TorchFunctionMode

import _harness
from injection._setup import apply_node, base_model, brushnet_patcher, image_and_mask, ksample, random_vae, text_conds

ROOT = Path(__file__).resolve().parents[2]
PACK_DIRS = tuple(str(ROOT / d) + os.sep for d in ("brushnet_core", "nodes"))

#: Tensor methods whose result is a host value (or a host copy): each is a sync on a GPU tensor.
READ_METHODS = ("item", "tolist", "cpu", "numpy", "nonzero", "unique", "masked_select", "equal", "allclose",
                "__bool__", "__float__", "__int__", "__index__", "__complex__", "__format__", "__repr__")
READ_FUNCTIONS = ("equal", "allclose", "nonzero", "unique", "masked_select")


@functools.lru_cache(maxsize=None)
def _is_pack_file(filename: str) -> bool:
    return os.path.realpath(filename).startswith(PACK_DIRS)


def _host_index(index) -> bool:
    """Indexing with host data (a Python list) or a boolean mask: an upload or a nonzero, both sync."""
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, list) or (isinstance(i, torch.Tensor) and i.dtype == torch.bool) for i in items)


TORCH_DIR = os.path.dirname(os.path.realpath(torch.__file__)) + os.sep


@functools.lru_cache(maxsize=None)
def _is_torch_file(filename: str) -> bool:
    return os.path.realpath(filename).startswith(TORCH_DIR)


def _device_change(t, *args, **kwargs) -> bool:
    """``Tensor.to`` to another device (host to device included: it waits for the queue too)."""
    return any(isinstance(v, (torch.device, str)) and torch.device(v) != t.device
               for v in (*args, kwargs.get("device")) if v is not None and not isinstance(v, torch.dtype))


class _ReadMode(TorchFunctionMode):
    """Reports the host reads among the torch calls made while it is active."""

    CHECKS = {"__getitem__": lambda t, index, *a, **k: _host_index(index), "to": _device_change}

    def __init__(self, tracer: "SyncTracer") -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        is_method = getattr(func, "__qualname__", "").startswith(("Tensor.", "TensorBase.", "_TensorBase."))
        check = self.CHECKS.get(name)
        if check is not None:
            hit = check(*args, **kwargs)
        else:
            hit = name in (READ_METHODS if is_method else READ_FUNCTIONS)
        if hit:
            self.tracer._hit(name)
        return func(*args, **kwargs)


class SyncTracer:
    """Counts value reads made by the pack's code; ``calls`` holds the count of every model call."""

    def __init__(self) -> None:
        self.count = 0
        self.where: list[str] = []
        self.calls: list[int] = []
        self.call_where: list[list[str]] = []

    def _hit(self, name: str) -> None:
        frame = sys._getframe(2)
        while frame is not None and _is_torch_file(frame.f_code.co_filename):
            frame = frame.f_back  # Python-level torch wrappers (e.g. Tensor.__format__) between pack and read
        if frame is not None and _is_pack_file(frame.f_code.co_filename):
            self.count += 1
            self.where.append(f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} {name}")

    @contextlib.contextmanager
    def active(self):
        """Trace through a TorchFunctionMode: every tensor method and torch function passes through it,
        and nothing on ``torch.Tensor`` is replaced (assigning and deleting a dunder on the class would
        leave CPython's type slots changed, e.g. ``torch.tensor([0-d tensor])`` fails afterwards)."""
        with _ReadMode(self):
            yield self

    def per_call(self, wrapper):
        """Wraps BrushNetSampling.diffusion_model: records the reads of each model call."""

        @functools.wraps(wrapper)
        def counted(sampling, executor, *args, **kwargs):
            start = self.count
            try:
                return wrapper(sampling, executor, *args, **kwargs)
            finally:
                self.calls.append(self.count - start)
                self.call_where.append(self.where[start:])

        return counted


@pytest.fixture()
def tracer(monkeypatch):
    sampling_cls = _harness.pack_module("nodes.glue.brushnet_patch").BrushNetSampling
    t = SyncTracer()
    monkeypatch.setattr(sampling_cls, "diffusion_model", t.per_call(sampling_cls.diffusion_model))
    return t


def _sample(tracer: SyncTracer, kind: str, steps: int, negative=None, **node_kw):
    base = base_model(kind)
    bn = brushnet_patcher(kind)
    image, mask = image_and_mask()
    positive, default_negative = text_conds(kind)
    model, pos, neg, latent = apply_node(base, random_vae(), image, mask, bn, positive,
                                         default_negative if negative is None else negative, **node_kw)
    forwards: list[int] = []
    bn.model.register_forward_hook(lambda mod, args, out: forwards.append(int(args[0].shape[0])))
    with tracer.active():
        ksample(model, pos, neg, latent, steps=steps, cfg=5.0)
    return forwards


def _assert_bound(tracer: SyncTracer, bound: int, calls: int) -> None:
    assert len(tracer.calls) == calls, tracer.calls
    worst = max(range(len(tracer.calls)), key=tracer.calls.__getitem__)
    assert max(tracer.calls) <= bound, (tracer.calls, tracer.call_where[worst])


def test_sd15_cfg_batch_reads_once_per_call(tracer) -> None:
    forwards = _sample(tracer, "sd15", steps=3)
    assert forwards == [1, 1, 1]  # still shared between cond and uncond
    _assert_bound(tracer, 1, calls=3)


def test_sdxl_cfg_batch_reads_once_per_call(tracer) -> None:
    forwards = _sample(tracer, "sdxl", steps=2)
    assert forwards == [2, 2]
    _assert_bound(tracer, 1, calls=2)


def test_separate_cond_and_uncond_calls_read_once_each(tracer) -> None:
    negative = [[torch.cat([text_conds("sd15")[1][0][0]] * 5, dim=1), {}]]  # 385 tokens: not batched with 77
    forwards = _sample(tracer, "sd15", steps=3, negative=negative)
    assert forwards == [1, 1, 1]  # the uncond call reuses the cond call's features
    _assert_bound(tracer, 1, calls=6)


def test_step_window_reads_once_per_call(tracer) -> None:
    forwards = _sample(tracer, "sd15", steps=5, start_at=1, end_at=3)
    assert forwards == [1, 1]
    _assert_bound(tracer, 1, calls=5)


def test_percent_window_reads_once_per_call(tracer) -> None:
    forwards = _sample(tracer, "sd15", steps=6, start_percent=0.0, end_percent=0.5)
    assert 0 < len(forwards) < 6
    _assert_bound(tracer, 1, calls=6)


def test_window_from_the_last_schedule_sigma_reads_once_per_call(tracer) -> None:
    forwards = _sample(tracer, "sd15", steps=3, start_at=3)  # step 3 is sigma 0: no call is there, but it could be
    assert forwards == []
    _assert_bound(tracer, 1, calls=3)


def test_window_outside_every_step_reads_nothing(tracer) -> None:
    forwards = _sample(tracer, "sd15", steps=3, start_at=4)  # 4 schedule sigmas: steps 0..3
    assert forwards == []
    _assert_bound(tracer, 0, calls=3)


def test_window_over_every_step_reads_only_to_share(tracer) -> None:
    negative = [[torch.cat([text_conds("sd15")[1][0][0]] * 5, dim=1), {}]]
    _sample(tracer, "sd15", steps=2, negative=negative)
    # cond call: nothing to compare with the first time, then one read per call (reuse or not)
    assert tracer.calls == [0, 1, 1, 1], tracer.call_where


# ----------------------------------------------------------------------------- the runner on its own

def _oracle_same(a, b) -> bool:
    """The per-tensor comparison the runner's decisions must agree with."""
    for u, v in zip(a, b):
        if (u is None) != (v is None):
            return False
        if u is not None and (u.shape != v.shape or u.device != v.device or not torch.equal(u, v.to(u.dtype))):
            return False
    return True


def _oracle(parts, last):
    """(reused, index) for parts given the last call's single computed part (or None)."""
    if last is not None and all(_oracle_same(p, last) for p in parts):
        return True, [0] * len(parts)
    unique, index = [], []
    for part in parts:
        found = next((i for i, u in enumerate(unique) if _oracle_same(part, u)), None)
        if found is None:
            unique.append(part)
            found = len(unique) - 1
        index.append(found)
    return False, index


def _runner(kind: str = "sd15"):
    import _models

    runner_mod = _harness.pack_module("brushnet_core.branch.runner")
    slot = _harness.pack_module("brushnet_core.branch.injection").FeatureSlot()
    bn = _models.tiny_brushnet(kind)
    cond = torch.randn(1, 5, 8, 8, generator=torch.Generator().manual_seed(3))
    return runner_mod.BrushNetRunner(bn, slot, cond, 1.0, runner_mod.ActiveWindow())


def _batch(latents: list[torch.Tensor], ts: list[float], conds: list[torch.Tensor]):
    return torch.cat(latents), torch.tensor(ts), torch.cat(conds)


def test_runner_decisions_match_the_per_tensor_comparison() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, 4, 8, 8, generator=g)
    ca, cb = torch.randn(1, 5, 8, 8, generator=g), torch.randn(1, 5, 8, 8, generator=g)
    nan = a.clone()
    nan[0, 0, 0, 0] = float("nan")
    runner = _runner()
    tracer = SyncTracer()
    sequence = [  # (latent parts, timesteps, conditioning parts)
        ([a, a], [5.0, 5.0], [ca, ca]),           # shared
        ([a, a], [5.0, 5.0], [ca, ca]),           # the same call again: reused
        ([a], [5.0], [ca]),                       # one part, equal to the last: reused
        ([a, b], [5.0, 5.0], [ca, ca]),           # latents differ
        ([b], [5.0], [ca]),                       # one part, last had two: computed
        ([b], [5.0], [ca]),                       # reused
        ([a, a, b], [7.0, 7.0, 7.0], [ca, ca, ca]),  # mixed: index [0, 0, 1]
        ([a, a], [7.0, 6.0], [ca, ca]),           # timesteps differ
        ([a, a], [7.0, 7.0], [ca, cb]),           # conditioning differs
        ([nan, nan], [7.0, 7.0], [ca, ca]),       # NaN never equals itself (torch.equal)
        ([nan], [7.0], [ca]),
        ([a.half(), a.half()], [7.0, 7.0], [ca, ca]),  # another dtype than the last call's
        ([a, a], [7.0, 7.0], [ca, ca]),
    ]
    last = None
    for latents, ts, conds in sequence:
        x, t, cond = _batch(latents, ts, conds)
        chunks = len(latents)
        n = x.shape[0] // chunks
        parts = [[x[c * n:(c + 1) * n], t[c * n:(c + 1) * n], None, cond[c * n:(c + 1) * n], None]
                 for c in range(chunks)]
        reused, index = _oracle(parts, last)
        calls = runner.calls
        start = tracer.count
        with tracer.active():
            runner.prepare(x, t, None, cond, chunks, 3.0, None)
        assert tracer.count - start <= 1, tracer.where[start:]
        assert runner.slot.index == index and runner.slot.chunks == chunks
        assert runner.calls == calls + (0 if reused else 1)
        if not reused and len(set(index)) == 1:
            last = [p.clone() if p is not None else None for p in parts[0]]
        feats = runner.slot.features
        h = torch.randn(x.shape[0], *feats.mid.shape[1:], generator=g).to(feats.mid.dtype)
        groups = feats.mid.unflatten(0, (max(index) + 1, -1))
        want = h + torch.cat([groups[i] for i in index])
        with tracer.active():
            start = tracer.count
            got = runner.slot.add(h, feats.mid)
            assert tracer.count == start, tracer.where[start:]  # adding features reads nothing
        torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)


def test_window_decisions_match_the_step_lookup() -> None:
    """Windows decided without the sigma agree with the sigma lookup at every schedule sigma."""
    runner_mod = _harness.pack_module("brushnet_core.branch.runner")
    window_cls = runner_mod.ActiveWindow
    sigmas = torch.tensor([14.6, 7.1, 3.2, 1.4, 0.5, 0.0])
    mids = [(float(a) * float(b)) ** 0.5 for a, b in zip(sigmas[:-1], sigmas[1:])]
    probes = [float(s) for s in sigmas] + mids + [20.0, -0.0]
    for start, end, s_start, s_end in [(0, 10000, float("inf"), 0.0), (0, 6, float("inf"), 0.0),
                                       (0, 5, float("inf"), 0.0), (1, 3, float("inf"), 0.0),
                                       (6, 10000, float("inf"), 0.0), (3, 3, float("inf"), 0.0),
                                       (0, 10000, 5.0, 0.0), (0, 10000, float("inf"), 1.0), (2, 4, 5.0, 1.0)]:
        for schedule in (sigmas, None, torch.zeros(0)):
            for sigma in probes:
                w = window_cls(start, end, s_start, s_end)
                sigmas_of_call = torch.tensor([sigma, sigma / 2])
                got = w.active(sigmas_of_call, schedule)
                want = _reference_active(w, float(sigmas_of_call.max()), schedule)
                assert got == want, (start, end, s_start, s_end, schedule, sigma)


def _reference_active(w, sigma: float, schedule) -> bool:
    """ActiveWindow.active as first written: bounds, then the step of ``sigma`` in the schedule."""
    if sigma > w.sigma_start * (1 + 1e-6) or sigma < w.sigma_end * (1 - 1e-6):
        return False
    if schedule is None or schedule.numel() == 0:
        return w.start_step == 0
    tol = max(abs(sigma) * 1e-5, 1e-8)
    step = max(int((schedule.float().cpu() >= sigma - tol).sum().item()) - 1, 0)
    return w.start_step <= step < w.end_step
