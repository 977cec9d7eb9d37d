"""Part A: the loader, reference-match and sampling tests of the suite, re-run on the device in each dtype."""
from __future__ import annotations

import argparse
import copy
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from benchmarks.gpu_check.compare import DTYPES, EPS, Precise, finite, fmt, rel_err, to_dev
from benchmarks.gpu_check.host import free_memory, patcher
from benchmarks.gpu_check.report import Table, guarded

LOADER_NAMES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
KINDS = ("sd15", "sdxl")


class PartA:
    """The loader, reference-match and sampling tests, re-run on the device in one dtype."""

    def __init__(self, a: argparse.Namespace, table: Table, harness: Any, dev: torch.device, models_dir: Path) -> None:
        self.a, self.table, self.harness, self.dev, self.models_dir = a, table, harness, dev, models_dir
        import _models
        from injection import _setup

        self.m, self.s = _models, _setup
        self._saved: dict[str, tuple[str, Any]] = {}

    # models as the tests build them, with the weights rounded to ``dtype``
    def tiny_model(self, kind: str, dtype: torch.dtype) -> Any:
        """tests/_models.tiny_base_model's ComfyUI model (4 heads), uninitialised, weights in ``dtype``."""
        import comfy.supported_models as sm

        unet = dict(self.m.SD15_UNET if kind == "sd15" else self.m.SDXL_UNET)
        model_config = (sm.SD15 if kind == "sd15" else sm.SDXL)(unet)
        model_config.unet_config.pop("num_head_channels", None)
        model_config.unet_config.update({"num_heads": 4, "num_head_channels": -1})
        model_config.set_inference_dtype(dtype, None)
        return model_config.get_model({}, "")

    def tiny_base(self, kind: str, dtype: torch.dtype, seed: int = 1) -> Any:
        from demo.random_weights import randomize_

        model = self.tiny_model(kind, dtype)
        randomize_(model.diffusion_model, seed=seed)  # the values of tests/_models.py, rounded to dtype
        return patcher(model)

    def twin(self, base: Any, kind: str) -> SimpleNamespace:
        """An fp32 copy of ``base`` (its weights upcast) on the device, for the references."""
        twin = self.tiny_model(kind, torch.float32)
        sd = {k: v.float() for k, v in base.model.diffusion_model.state_dict().items()}
        twin.diffusion_model.load_state_dict(sd, strict=True)
        twin.to(self.dev).requires_grad_(False)
        return SimpleNamespace(model=twin)

    def bn_patcher(self, kind: str, dtype: torch.dtype) -> Any:
        # the pack's own class, as its loader makes it (the nodes check the class of what is connected)
        return patcher(self.s.as_pack_model(self.m.tiny_brushnet(kind, seed=2, dtype=dtype)))

    def bn_reference_sd(self, bn: Any) -> dict:
        return {k: v.detach().float().to(self.dev) for k, v in bn.model.state_dict().items()}

    def vae(self) -> Any:
        import comfy.sd
        from demo.random_models import random_vae_state_dict

        if not hasattr(self, "_vae"):
            # fp32 VAE: the node and the reference must get the same conditioning latent
            self._vae = comfy.sd.VAE(sd=random_vae_state_dict(), dtype=torch.float32)
        return self._vae

    def reference(self, twin: Any, bn_sd: dict | None, kind: str, x: torch.Tensor, sigma: float, cfg: float,
                  positive: list, negative: list, cond: torch.Tensor | None, scale: float) -> torch.Tensor:
        """tests/injection/_setup.reference_denoised, run on the device in fp32."""
        with Precise(), torch.device(self.dev), torch.no_grad():
            return self.s.reference_denoised(twin, bn_sd, kind, x.to(self.dev).float(), sigma, cfg,
                                             to_dev(positive, self.dev), to_dev(negative, self.dev),
                                             cond.to(self.dev).float() if cond is not None else None, scale)

    def reference_euler(self, twin: Any, bn_sd: dict | None, kind: str, positive: list, negative: list,
                        cond: torch.Tensor | None, latent: torch.Tensor, steps: int, cfg: float,
                        seed: int) -> torch.Tensor:
        """tests/injection/test_sampling._reference_euler, on the device in fp32."""
        import comfy.sample
        import comfy.samplers

        ms = copy.deepcopy(twin.model.model_sampling).to("cpu")  # the schedule as the sampler computes it
        sigmas = comfy.samplers.calculate_sigmas(ms, "normal", steps).float().to(self.dev)
        noise = comfy.sample.prepare_noise(latent, seed).to(self.dev)
        x = noise * torch.sqrt(1.0 + sigmas[0] ** 2)
        for i in range(steps):
            den = self.reference(twin, bn_sd, kind, x, float(sigmas[i]), cfg, positive, negative, cond, 1.0)
            x = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
        return twin.model.process_latent_out(x)

    def limit(self, name: str, floor: float | None = None) -> float:
        eps = EPS[name]
        base = 1e-5 if name == "fp32" else 16 * eps
        return max(base, 4 * floor) if floor else base

    @staticmethod
    def limit_text(name: str, with_floor: bool) -> str:
        base = "1e-5" if name == "fp32" else f"16 eps = {fmt(16 * EPS[name])}"
        return f"max({base}, 4x plain)" if with_floor else base

    def status(self, err: float, lim: float, *tensors: torch.Tensor) -> str:
        if not finite(*tensors) or math.isnan(err):
            return "FAIL"
        return "ok" if err <= lim else "high"

    # ---- the checks
    def loader(self, name: str, kind: str) -> None:
        import comfy.model_management as mm
        from demo.random_models import random_brushnet, save_brushnet

        dtype = DTYPES[name]
        if kind not in self._saved:
            model = random_brushnet(self.m.TINY_BRUSHNET[kind], seed=21)
            rel = f"gpu_check_{kind}_fp32.safetensors"
            save_brushnet(model, self.models_dir / "brushnet" / rel)
            self._saved[kind] = (rel, {k: v.clone() for k, v in model.state_dict().items()})
        rel, expected = self._saved[kind]
        loader = self.harness.pack_module("nodes.loader")
        bn = loader.BrushNetLoader.execute(brushnet=rel, dtype=LOADER_NAMES[name]).args[0]
        loaded = bn.model.state_dict()
        same_keys = loaded.keys() == expected.keys()
        worst = max(float((loaded[k].cpu().double() - v.to(dtype).double()).abs().max()) for k, v in expected.items())
        exact = same_keys and all(torch.equal(loaded[k].cpu(), v.to(dtype)) for k, v in expected.items())
        dtypes = {p.dtype for p in bn.model.parameters()}
        mm.load_models_gpu([bn])
        devices = {p.device for p in bn.model.parameters()}
        managed = any(lm.model is bn for lm in mm.current_loaded_models)
        on_dev = devices == {self.dev} or all(d.type == self.dev.type for d in devices)
        ok = exact and dtypes == {dtype} and on_dev and managed and bn.model.kind == kind
        text = f"{fmt(worst)} ({'bit-exact' if exact else 'NOT exact'}), on {'/'.join(sorted(str(d) for d in devices))}"
        self.table.put("loader: cast once, placed by ComfyUI", name, kind, text, "ok" if ok else "FAIL", "0, device",
                       raw={"max_abs": worst, "exact": exact, "dtypes": [str(d) for d in dtypes],
                            "devices": [str(d) for d in devices], "managed": managed})
        if name == self.a.dtype_names[0]:
            picked = loader.pick_dtype("auto", mm.get_torch_device())
            self.table.put("loader: auto dtype on this device", "auto", kind, str(picked).replace("torch.", ""))
        del bn
        free_memory()

    def branch(self, name: str, kind: str) -> None:
        dtype = DTYPES[name]
        bn = self.m.tiny_brushnet(kind, seed=2, dtype=dtype).to(self.dev)
        sd = self.bn_reference_sd(SimpleNamespace(model=bn))
        g = torch.Generator().manual_seed(3)
        x, cond = torch.randn(1, 4, 9, 11, generator=g), torch.randn(1, 5, 9, 11, generator=g)
        t = torch.tensor([500.0])
        added = torch.randn(1, 2816, generator=g) if kind == "sdxl" else None
        with torch.no_grad():
            feats = bn(x.to(self.dev), t.to(self.dev), cond.to(self.dev),
                       added=added.to(self.dev) if added is not None else None, scale=1.0)
        with Precise(), torch.device(self.dev), torch.no_grad():
            down, mid, up = self.s.reference_brushnet(sd, x.to(self.dev), t.to(self.dev), cond.to(self.dev),
                                                      added=added.to(self.dev) if added is not None else None)
        ours = [*feats.down, feats.mid, *feats.up]
        ref = [*down, mid, *up]
        if len(ours) != len(ref):
            raise AssertionError(f"{len(ours)} features, reference has {len(ref)}")
        err = max(rel_err(o, r) for o, r in zip(ours, ref))
        lim = self.limit(name)
        self.table.put("branch alone vs reference", name, kind, fmt(err), self.status(err, lim, *ours),
                       self.limit_text(name, False), raw=err)
        del bn

    def inputs(self, name: str, kind: str) -> tuple:
        """Base model in ``name``, its fp32 twin, BrushNet and its reference weights, VAE, image, mask, conds."""
        dtype = DTYPES[name]
        base = self.tiny_base(kind, dtype)
        bn = self.bn_patcher(kind, dtype)
        vae = self.vae()
        image, mask = self.s.image_and_mask()
        positive, negative = self.s.text_conds(kind)
        cond = self.s.conditioning_reference(vae, image, mask, kind)
        return base, self.twin(base, kind), bn, self.bn_reference_sd(bn), vae, image, mask, positive, negative, cond

    def one_step(self, name: str, kind: str) -> None:
        s = self.s
        base, twin, bn, bn_sd, vae, image, mask, positive, negative, cond = self.inputs(name, kind)
        sigma, cfg = 3.0, 4.5
        errs, outs = {}, []
        for scale in (0.7, 1.0):
            model, pos, neg, latent = s.apply_node(base, vae, image, mask, bn, positive, negative, scale=scale)
            noise = torch.randn(latent["samples"].shape, generator=torch.Generator().manual_seed(0))
            x, got = s.one_step(model, pos, neg, latent["samples"], sigma, cfg)
            if not torch.equal(x.cpu(), noise * sigma):
                raise AssertionError("the sampler's input is not noise * sigma")
            want = self.reference(twin, bn_sd, kind, noise * sigma, sigma, cfg, positive, negative, cond, scale)
            errs[scale] = rel_err(got, want)
            outs.append(got)
        _, plain = s.one_step(base, positive, negative, latent["samples"], sigma, cfg)
        want_plain = self.reference(twin, None, kind, noise * sigma, sigma, cfg, positive, negative, None, 1.0)
        floor = rel_err(plain, want_plain)
        moved = rel_err(outs[-1], plain)  # guard: BrushNet must change the prediction
        lim = self.limit(name, floor)
        st = self.status(max(errs.values()), lim, *outs)
        if moved < 1e-2:
            st = "FAIL"
        self.table.put("one model call vs reference, scale 0.7 / 1.0", name, kind,
                       f"{fmt(errs[0.7])} / {fmt(errs[1.0])}", st, self.limit_text(name, True),
                       raw={"errors": errs, "brushnet_changes_prediction_by": moved})
        self.table.put("plain model call vs reference (dtype floor)", name, kind, fmt(floor),
                       "FAIL" if not finite(plain) else "", raw=floor)
        del base, twin, bn, bn_sd
        free_memory()

    def sampling(self, name: str, kind: str) -> None:
        s = self.s
        base, twin, bn, bn_sd, vae, image, mask, positive, negative, cond = self.inputs(name, kind)
        model, pos, neg, latent = s.apply_node(base, vae, image, mask, bn, positive, negative)
        steps, cfg, seed = 3, 6.0, 11
        calls = s.count_forwards(bn)
        got = s.ksample(model, pos, neg, latent, steps=steps, cfg=cfg, seed=seed)
        want = self.reference_euler(twin, bn_sd, kind, positive, negative, cond, latent["samples"], steps, cfg, seed)
        err = rel_err(got, want)
        plain = s.ksample(base, positive, negative, latent, steps=steps, cfg=cfg, seed=seed)
        want_plain = self.reference_euler(twin, None, kind, positive, negative, None, latent["samples"], steps, cfg,
                                          seed)
        floor = rel_err(plain, want_plain)
        lim = self.limit(name, floor)
        self.table.put(f"KSampler {steps} steps vs reference Euler loop", name, kind, fmt(err),
                       self.status(err, lim, got), self.limit_text(name, True), raw=err)
        self.table.put(f"plain KSampler {steps} steps vs reference (dtype floor)", name, kind, fmt(floor),
                       "FAIL" if not finite(plain) else "", raw=floor)
        expected_calls = [1] * steps if kind == "sd15" else [2] * steps
        self.table.put("branch forwards per step (batch size)", name, kind, str(calls),
                       "ok" if calls == expected_calls else "FAIL", "SD1.5 [1]/step, SDXL [2]/step", raw=calls)
        del base, twin, bn, bn_sd, model
        free_memory()

    def run(self) -> None:
        with Precise():  # TF32 off for both sides: fp32 on the device must be as exact as on the CPU
            self._run()

    def _run(self) -> None:
        for name in self.a.dtype_names:
            for kind in KINDS:
                for check in (self.loader, self.branch, self.one_step, self.sampling):
                    part = {"loader": "loader: cast once, placed by ComfyUI", "branch": "branch alone vs reference",
                            "one_step": "one model call vs reference, scale 0.7 / 1.0",
                            "sampling": "KSampler 3 steps vs reference Euler loop"}[check.__name__]
                    guarded(self.table, part, name, kind, lambda c=check: c(name, kind))
