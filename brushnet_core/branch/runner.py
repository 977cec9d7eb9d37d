"""Per-call BrushNet execution: activity window, CFG sharing and reuse across calls.

Host-device synchronisation: on a GPU, every read of a tensor's value on the host (``.item()``,
``float()``, ``torch.equal``, ``.cpu()``) waits for all queued work and leaves the launch queue
empty, which costs far more than the read at small sizes. A model call therefore reads at most
once: what it decides on values (the window at this call's sigma, which batch parts are equal,
whether the last call's features can be reused) is computed on the device and read back together
(:class:`HostRead`). Windows that hold for every sigma a sampler can pass need no read at all.
"""
from __future__ import annotations

import logging
import math
import struct
from dataclasses import dataclass, field
from typing import Sequence

import torch

from .injection import FeatureSlot
from .model import BrushNetFeatures, BrushNetInputError, BrushNetModel, BrushNetRuntimeError

log = logging.getLogger("BrushEdit")


class HostValue:
    """One tensor queued in a :class:`HostRead`; ``get()`` gives its values as Python floats."""

    __slots__ = ("_read", "_i")

    def __init__(self, read: "HostRead", i: int) -> None:
        self._read, self._i = read, i

    def get(self) -> list[float]:
        return self._read.values(self._i)


class HostRead:
    """Tensors whose values one model call needs on the host, read in one transfer per device.

    Values come back in the widest floating dtype queued (float32 at least), so floats, bools
    and the sigma schedule arrive exactly.
    """

    def __init__(self) -> None:
        self._items: list[torch.Tensor] = []
        self._values: list[list[float]] | None = None

    def add(self, t: torch.Tensor) -> HostValue:
        if self._values is not None:
            raise BrushNetRuntimeError("HostRead: already read")
        self._items.append(t.detach().reshape(-1))
        return HostValue(self, len(self._items) - 1)

    def values(self, i: int) -> list[float]:
        if self._values is None:
            self._values = self._read()
        return self._values[i]

    def _read(self) -> list[list[float]]:
        out: list[list[float]] = [[] for _ in self._items]
        by_device: dict[torch.device, list[int]] = {}
        for i, t in enumerate(self._items):
            by_device.setdefault(t.device, []).append(i)
        for idx in by_device.values():
            dtype = torch.float32
            for i in idx:
                if self._items[i].is_floating_point():
                    dtype = torch.promote_types(dtype, self._items[i].dtype)
            flat = torch.cat([self._items[i].to(dtype) for i in idx]).tolist()  # the one read (sync)
            pos = 0
            for i in idx:
                n = self._items[i].numel()
                out[i], pos = flat[pos:pos + n], pos + n
        return out


def _float32(value: float) -> float:
    """``value`` rounded to float32, as torch rounds a Python scalar compared with a float32 tensor."""
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _tensor_key(t: torch.Tensor) -> tuple:
    try:
        version = t._version
    except RuntimeError:  # inference tensors (ComfyUI samples in inference mode) have no version counter
        version = None
    return t.data_ptr(), tuple(t.shape), t.stride(), t.dtype, t.device, version


@dataclass
class ActiveWindow:
    """When BrushNet runs: sampling steps [start_step, end_step) and sigmas in [sigma_end, sigma_start]."""

    start_step: int = 0
    end_step: int = 10000
    sigma_start: float = float("inf")
    sigma_end: float = 0.0
    #: (schedule tensor, its key, its float32 values on the host): read once per schedule
    _schedule: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def is_empty(self) -> bool:
        return self.start_step >= self.end_step or self.sigma_start < self.sigma_end

    def forget(self) -> None:
        """Drop the host copy of the last sampling run's schedule."""
        self._schedule = None

    def decided(self, sample_sigmas: torch.Tensor | None) -> bool | None:
        """On (True) or off (False) for every call under this schedule whatever its sigma, else None.

        A call's step lies in [0, n - 1] for a schedule of n sigmas, so the step range alone can rule
        every call out, or in. Ruling in also needs the sigma bounds to hold for every sigma >= 0
        (samplers pass noise levels, never negative ones): no upper bound and a lower bound <= 0.
        """
        n = sample_sigmas.numel() if isinstance(sample_sigmas, torch.Tensor) else 0
        if n == 0:
            if self.start_step != 0:
                return False  # no schedule: on from the first step only
            all_steps = True
        else:
            if max(self.start_step, 0) >= min(self.end_step, n):
                return False
            all_steps = self.start_step <= 0 and self.end_step >= n
        if all_steps and self.sigma_start == math.inf and self.sigma_end <= 0.0:
            return True
        return None

    def step_index(self, sigma: float, sample_sigmas: torch.Tensor | None) -> int | None:
        """Index of the sampling step that ``sigma`` belongs to (intermediate sigmas included)."""
        if sample_sigmas is None or sample_sigmas.numel() == 0:
            return None
        schedule = self._cached_schedule(sample_sigmas)
        if schedule is None:
            read = HostRead()
            value = read.add(sample_sigmas.float())
            schedule = self._store_schedule(sample_sigmas, value.get())
        return self._step(sigma, schedule)

    @staticmethod
    def _step(sigma: float, schedule: Sequence[float]) -> int:
        # The count of float32 schedule sigmas >= sigma - tol (the bound rounded to float32, as torch does).
        tol = max(abs(sigma) * 1e-5, 1e-8)
        bound = _float32(sigma - tol)
        return max(sum(1 for s in schedule if s >= bound) - 1, 0)

    def _cached_schedule(self, sample_sigmas: torch.Tensor) -> list[float] | None:
        c = self._schedule
        if c is not None and c[0] is sample_sigmas and c[1] == _tensor_key(sample_sigmas):
            return c[2]
        return None

    def _store_schedule(self, sample_sigmas: torch.Tensor, values: list[float]) -> list[float]:
        self._schedule = (sample_sigmas, _tensor_key(sample_sigmas), values)
        return values

    def request(self, sigma: float | torch.Tensor, sample_sigmas: torch.Tensor | None, read: HostRead) -> tuple:
        """Queue in ``read`` what deciding on ``sigma`` needs: the sigma (a tensor: its max) and, once per
        schedule, the schedule. :meth:`resolve` then decides."""
        value = read.add(sigma.max()) if isinstance(sigma, torch.Tensor) else float(sigma)
        schedule = None
        if sample_sigmas is not None and sample_sigmas.numel():
            schedule = self._cached_schedule(sample_sigmas)
            if schedule is None:
                schedule = read.add(sample_sigmas.float())
        return value, schedule, sample_sigmas

    def resolve(self, pending: tuple) -> bool:
        value, schedule, sample_sigmas = pending
        sigma = value.get()[0] if isinstance(value, HostValue) else value
        if sigma > self.sigma_start * (1 + 1e-6) or sigma < self.sigma_end * (1 - 1e-6):
            return False
        if schedule is None:
            return self.start_step == 0
        if isinstance(schedule, HostValue):
            schedule = self._store_schedule(sample_sigmas, schedule.get())
        return self.start_step <= self._step(sigma, schedule) < self.end_step

    def active(self, sigma: float | torch.Tensor, sample_sigmas: torch.Tensor | None) -> bool:
        """Whether BrushNet runs at ``sigma`` (a float, or a call's sigmas tensor: its max); one read at most."""
        decided = self.decided(sample_sigmas)
        if decided is not None:
            return decided
        return self.resolve(self.request(sigma, sample_sigmas, HostRead()))


class BrushNetRunner:
    """Computes BrushNet features for one model call and puts them in the slot.

    SD1.5 BrushNet ignores text, so batch parts (cond/uncond) with equal latent input, timestep
    and conditioning share one computation; SDXL parts also compare the pooled-text vector ``y``.
    The last result is kept (inputs cloned) so a separate cond or uncond call of the same step
    reuses it.
    """

    def __init__(self, model: BrushNetModel, slot: FeatureSlot, conditioning: torch.Tensor, scale: float,
                 window: ActiveWindow) -> None:
        self.model, self.slot, self.conditioning, self.scale, self.window = model, slot, conditioning, scale, window
        self.uses_pooled = getattr(model, "add_embedding", None) is not None
        #: a branch with cross-attention (PowerPaint) reads the text context as well
        self.uses_context = bool(getattr(model, "reads_context", False))
        self.calls = 0  # BrushNet forwards actually run (for tests and benchmarks)
        self._last: tuple[list[torch.Tensor], BrushNetFeatures] | None = None
        self._cond_on: tuple[torch.Tensor, torch.device, torch.Tensor] | None = None

    def reset(self) -> None:
        self._last = None
        self._cond_on = None
        self.window.forget()
        self.slot.clear()

    def conditioning_for(self, x: torch.Tensor, given: torch.Tensor | None) -> torch.Tensor:
        """The per-item conditioning of this call (from the conds), else the node's, matched to x."""
        cond = given if given is not None else self.conditioning
        if cond.shape[-2:] != x.shape[-2:]:
            raise BrushNetInputError(
                f"BrushNet conditioning is {tuple(cond.shape[-2:])} latent pixels but the sampler's latent is "
                f"{tuple(x.shape[-2:])}: sample the LATENT output of the BrushNet node (no upscale or crop "
                "between BrushNet and the sampler), or re-run BrushNet on the resized image"
            )
        if cond.shape[0] != x.shape[0] and x.shape[0] % cond.shape[0]:
            raise BrushNetInputError(f"BrushNet: latent batch {x.shape[0]} does not match image batch {cond.shape[0]}")
        if cond.device != x.device:
            # an upload waits for the device: the node's own conditioning is uploaded once per run
            cond = cond.to(device=x.device) if given is not None else self._node_conditioning_on(x.device)
        if cond.shape[0] != x.shape[0]:
            cond = cond.repeat(x.shape[0] // cond.shape[0], 1, 1, 1)
        return cond

    def _node_conditioning_on(self, device: torch.device) -> torch.Tensor:
        c = self._cond_on
        if c is None or c[0] is not self.conditioning or c[1] != device:
            c = self._cond_on = (self.conditioning, device, self.conditioning.to(device=device))
        return c[2]

    def prepare(self, x: torch.Tensor, timesteps: torch.Tensor, y: torch.Tensor | None, cond: torch.Tensor | None,
                chunks: int, sigma: float | torch.Tensor, sample_sigmas: torch.Tensor | None,
                context: torch.Tensor | None = None) -> None:
        """Fill the slot for this call, or leave it empty when BrushNet is inactive at ``sigma``.

        ``sigma`` is a float or the call's sigmas (a tensor, its max counts). One host read at most:
        where the window depends on the sigma, the sigma travels with the equality flags.
        """
        self.slot.clear()
        window = self.window
        decided = window.decided(sample_sigmas)
        if decided is False:
            return
        read = HostRead()
        pending = window.request(sigma, sample_sigmas, read) if decided is None else None
        try:
            cond = self.conditioning_for(x, cond)
        except Exception:
            if pending is not None and not window.resolve(pending):
                return  # inactive at this sigma: the mismatch does not matter here
            raise
        x = x[:, : self.model.config.in_channels]
        if chunks < 1 or x.shape[0] % chunks:
            chunks = 1
        n = x.shape[0] // chunks
        t = timesteps.reshape(-1).expand(x.shape[0]) if timesteps.numel() == 1 else timesteps.reshape(-1)
        parts = [self._part(x, t, y, cond, context, c * n, (c + 1) * n) for c in range(chunks)]
        last = self._last
        # Equality decided on the device, read together with the sigma (one transfer): is every part
        # the last call's single part, and which earlier part does each part equal.
        reuse = _queue_equal([(p, last[0]) for p in parts], read) if last is not None else False
        pairs = {(i, j): _queue_equal([(parts[j], parts[i])], read) for j in range(chunks) for i in range(j)}
        if pending is not None and not window.resolve(pending):
            return
        if _flag(reuse):
            self.slot.set(last[1], chunks, [0] * chunks)
            return
        first: list[int] = []  # for each computed part, the batch part it comes from
        index: list[int] = []
        for j in range(chunks):
            found = next((k for k, i in enumerate(first) if _flag(pairs[(i, j)])), None)
            if found is None:
                first.append(j)
                found = len(first) - 1
            index.append(found)
        unique = [parts[i] for i in first]
        batch = [torch.cat([u[k] for u in unique]) if u0 is not None else None for k, u0 in enumerate(unique[0])]
        with torch.no_grad():
            extra = {"context": batch[4]} if self.uses_context else {}
            feats = self.model(batch[0], batch[1], batch[3], added=batch[2], scale=self.scale, **extra)
        self.calls += 1
        if feats.mid.dtype != x.dtype:
            feats = feats.map(lambda f: f.to(x.dtype))
        if len(unique) == 1:
            self._last = ([p.clone() if p is not None else None for p in unique[0]], feats)
        self.slot.set(feats, chunks, index)

    def _part(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None, cond: torch.Tensor,
              context: torch.Tensor | None, a: int, b: int) -> list:
        """The inputs of batch part [a, b) that the branch actually reads (what decides sharing)."""
        pooled = y[a:b] if (self.uses_pooled and y is not None) else None
        ctx = context[a:b] if (self.uses_context and context is not None) else None
        return [x[a:b], t[a:b], pooled, cond[a:b], ctx]


def _queue_equal(pairs: Sequence[tuple[Sequence[torch.Tensor | None], Sequence[torch.Tensor | None]]],
                 read: HostRead) -> bool | list[HostValue]:
    """Whether every pair of parts holds equal inputs, as ``torch.equal`` per tensor says (``b``'s cast
    to ``a``'s dtype). Decided on the host where structure decides (None-ness, shape, device): then a
    bool; else the elementwise comparisons are queued in ``read`` as one flag per device."""
    flags: dict[torch.device, list[torch.Tensor]] = {}
    for a, b in pairs:
        for u, v in zip(a, b):
            if (u is None) != (v is None):
                return False
            if u is None:
                continue
            if u.shape != v.shape or u.device != v.device:
                return False
            if u.numel():
                flags.setdefault(u.device, []).append((u == v.to(u.dtype)).all())
    if not flags:
        return True
    return [read.add(f[0] if len(f) == 1 else torch.stack(f).all()) for f in flags.values()]


def _flag(value: bool | list[HostValue]) -> bool:
    return value if isinstance(value, bool) else all(v.get()[0] != 0.0 for v in value)
