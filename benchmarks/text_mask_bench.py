"""Text -> mask CPU benchmark: GroundingDINO-T + SAM ViT-B (random weights, real sizes) on a 1024 px image.

    python -m benchmarks.text_mask_bench            # full size, 2 threads
    python -m benchmarks.text_mask_bench --quick    # tiny models, seconds

Reports the first prompt (GroundingDINO + SAM image encoder + decoder) twice, side by side: with
transformers' own SAM image-encoder attention and deformable-attention core (the path before issue
17: a dense relative-position bias per global-attention layer, all levels' samples stacked) and with
the pack's blockwise SAM attention and per-level deformable core (``SamBundle.fast_attention``,
``DinoBundle.fast_deformable``, the defaults now), each from empty caches, plus how far the two
SAM embeddings and GroundingDINO outputs are apart. Then a
second prompt on the same image (SAM embedding and Swin features reused), the same prompt again with
another mode (GroundingDINO outputs reused: the threshold/mode tweaking case), the parts, and peak
resident memory. Wall and CPU seconds (all threads) are both printed: on a shared machine the CPU
seconds are the steadier figure. Not a test.
"""
from __future__ import annotations

import argparse
import logging
import resource
import sys
import time

import torch

from brushnet_core.text_mask import DinoBundle, SamBundle, text_to_masks
from brushnet_core.text_mask.detect import detect, preprocess
from brushnet_core.text_mask.loading import load_tokenizer
from brushnet_core.text_mask.segment import embed


def _randomize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.02 + (1.0 if "norm" in name and name.endswith("weight") else 0.0))
    return model.eval()


def _vocab_dir() -> str:
    import tempfile

    folder = tempfile.mkdtemp(prefix="bench_vocab_")
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [f"[unused{i}]" for i in range(99, 99 + 1012 - len(tokens))] + [".", "dog", "cat", "the", "red", "car"]
    with open(f"{folder}/vocab.txt", "w", encoding="utf-8") as fh:
        fh.write("\n".join(tokens) + "\n")
    return folder


def build(quick: bool) -> tuple[DinoBundle, SamBundle]:
    from transformers import GroundingDinoConfig, GroundingDinoForObjectDetection, SamConfig, SamModel

    if quick:
        dcfg = GroundingDinoConfig(
            d_model=32, encoder_ffn_dim=64, decoder_ffn_dim=64, encoder_layers=1, decoder_layers=2, num_queries=50,
            backbone_config=dict(model_type="swin", embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 4],
                                 window_size=7, out_indices=[2, 3, 4]),
            text_config=dict(model_type="bert", hidden_size=32, num_hidden_layers=1, num_attention_heads=1,
                             intermediate_size=64, vocab_size=1100))
        scfg = SamConfig(vision_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=1, mlp_dim=128,
                                            output_channels=32, global_attn_indexes=[1], num_pos_feats=16),
                         prompt_encoder_config=dict(hidden_size=32),
                         mask_decoder_config=dict(hidden_size=32, mlp_dim=64, iou_head_hidden_dim=32))
    else:  # GroundingDINO-T (Swin-T, BERT-base) and SAM ViT-B, the published sizes
        dcfg = GroundingDinoConfig(backbone_config=dict(model_type="swin", embed_dim=96, depths=[2, 2, 6, 2],
                                                        num_heads=[3, 6, 12, 24], window_size=7, out_indices=[2, 3, 4]))
        scfg = SamConfig()
    dino = _randomize(GroundingDinoForObjectDetection(dcfg), 1)
    sam = _randomize(SamModel(scfg), 2)
    return DinoBundle(model=dino, tokenizer=load_tokenizer(_vocab_dir())), SamBundle(model=sam, kind="sam")


def _timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def device_check(device: str, repeat: int = 3) -> None:
    """On an accelerator: SAM ViT-B's image encoder (full size, random weights, 1024 px) with the blockwise
    attention against transformers' own, in fp32 / fp16 / bf16: largest relative difference and time."""
    from transformers import SamConfig, SamModel

    from brushnet_core.text_mask.sam_attention import fast_attention

    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    model = _randomize(SamModel(SamConfig()), 2).to(dev)
    pixels = torch.randn((1, 3, 1024, 1024), generator=torch.Generator().manual_seed(3)).to(dev)
    with torch.inference_mode():
        reference = model.get_image_embeddings(pixels).double()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else str(dev)
    print(f"device check on {name}, torch {torch.__version__}")
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        m, x = model.to(dtype), pixels.to(dtype)
        times: dict[bool, list[float]] = {False: [], True: []}
        outs = {}
        with torch.inference_mode():
            for _ in range(repeat):
                for fast in (False, True):
                    with fast_attention(m, fast):
                        sync()
                        t = time.perf_counter()
                        outs[fast] = m.get_image_embeddings(x).double()
                        sync()
                        times[fast].append(time.perf_counter() - t)
        scale = reference.abs().max()
        rel = ((outs[True] - outs[False]).abs().max() / scale).item()
        err = {f: ((outs[f] - reference).abs().max() / scale).item() for f in (False, True)}
        print(f"  {str(dtype).replace('torch.', ''):8s} blockwise vs transformers {rel:.1e}; vs fp32 transformers: "
              f"transformers {err[False]:.1e}, blockwise {err[True]:.1e}; encoder time (best of {repeat}) "
              f"transformers {min(times[False]) * 1e3:.1f} ms, blockwise {min(times[True]) * 1e3:.1f} ms")
    model.to(torch.float32)
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny models (smoke run)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=1024, help="square image side in pixels")
    ap.add_argument("--detect-size", type=int, default=800, help="short side GroundingDINO sees (node input)")
    ap.add_argument("--boxes", type=int, default=3, help="objects per prompt to segment (typical real count)")
    ap.add_argument("--pairs", type=int, default=1, help="before/after first-prompt pairs (alternating)")
    ap.add_argument("--check-device", default="", help="e.g. cuda: only the SAM encoder attention check there")
    args = ap.parse_args(argv)
    if args.check_device:
        device_check(args.check_device)
        return
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    (dino, sam), t_build, _ = _timed(lambda: build(args.quick))
    image = torch.rand((1, args.size, args.size, 3), generator=torch.Generator().manual_seed(0))
    cpu = torch.device("cpu")
    # random weights score every query alike: keep the --boxes best detections per prompt, as a
    # real model with a real prompt would return a handful of objects
    run = lambda prompt, mode="union": text_to_masks(dino, sam, image, prompt, 0.0, 0.0, mode, cpu, cpu,  # noqa: E731
                                                    detect_size=args.detect_size, max_objects=args.boxes)

    def cold(fast: bool):
        sam.fast_attention = dino.fast_deformable = fast
        for cache in (dino.cache, dino.outputs, sam.cache):
            cache.clear()
        return _timed(lambda: run("dog"))

    first: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    masks = {}
    for _ in range(args.pairs):
        for fast in (False, True):
            (m, info), wall, cpu_s = cold(fast)
            first[fast].append((wall, cpu_s))
            masks[fast] = m
    n1 = len(info["images"][0]["detections"])
    (m2, info2), t2, c2 = _timed(lambda: run("cat . red car"))
    _, t3, c3 = _timed(lambda: run("cat . red car", "largest"))
    runs = (sam.encoder_calls, dino.backbone_calls, dino.model_calls)
    dino.cache.clear()
    dino.outputs.clear()
    det = {}
    for fast in (False, True):
        dino.fast_deformable = fast
        dino.cache.clear()
        dino.outputs.clear()
        _, *det[fast] = _timed(lambda: detect(dino, image[0], "dog", 0.0, 0.0, cpu, short_side=args.detect_size))
        det[fast].append(next(iter(dino.outputs.values())))
    (la, ba), (lb, bb) = det[False][2], det[True][2]
    fin = la.isfinite()
    det_rel = max(((la[fin] - lb[fin]).abs().max() / la[fin].abs().max()).item(),
                  ((ba - bb).abs().max() / ba.abs().max()).item())
    pixels = preprocess(dino, image[0], cpu, torch.float32, args.detect_size)
    with torch.inference_mode():
        pixel_mask = torch.ones(1, *pixels.shape[2:], dtype=torch.long)
        _, t_swin, _ = _timed(lambda: dino.model.model.backbone(pixels, pixel_mask))
    enc = {}
    for fast in (False, True):
        sam.fast_attention = fast
        sam.cache.clear()
        enc[fast] = _timed(lambda: embed(sam, image[0], cpu, torch.float32)["image_embeddings"])
    a, b = enc[False][0].double(), enc[True][0].double()
    emb_rel = ((a - b).abs().max() / a.abs().max()).item()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = "quick (tiny models)" if args.quick else "full (GroundingDINO-T + SAM ViT-B, random weights)"
    best = {f: (min(w for w, _ in v), min(c for _, c in v)) for f, v in first.items()}
    print(f"text_mask_bench: {kind}, {args.size}x{args.size} image, GroundingDINO at short side {args.detect_size}, "
          f"{args.threads} CPU threads, torch {torch.__version__}")
    print(f"  build models                       {t_build:7.2f} s (not counted)")
    print(f"  first prompt 'dog', before (transformers' attention paths) {best[False][0]:7.2f} s wall "
          f"{best[False][1]:7.2f} s CPU")
    print(f"  first prompt 'dog', after  (the pack's fast paths)        {best[True][0]:7.2f} s wall "
          f"{best[True][1]:7.2f} s CPU  ({n1} boxes; best of {args.pairs})")
    print(f"    every run (wall, CPU): before {[(round(w, 2), round(c, 2)) for w, c in first[False]]}, "
          f"after {[(round(w, 2), round(c, 2)) for w, c in first[True]]}")
    print(f"    same masks: {torch.equal(masks[False], masks[True])}; max relative difference: SAM embeddings "
          f"{emb_rel:.1e}, GroundingDINO logits/boxes {det_rel:.1e}")
    print(f"  second prompt 'cat . red car'      {t2:7.2f} s wall {c2:7.2f} s CPU  "
          f"({len(info2['images'][0]['detections'])} boxes)")
    print(f"  same prompt, mode 'largest'        {t3:7.2f} s wall {c3:7.2f} s CPU  (GroundingDINO outputs reused)")
    print(f"  parts, before -> after: GroundingDINO {det[False][0]:.2f} -> {det[True][0]:.2f} s "
          f"({det[False][1]:.2f} -> {det[True][1]:.2f} s CPU; Swin backbone {t_swin:.2f} s), "
          f"SAM image encoder {enc[False][1]:.2f} -> "
          f"{enc[True][1]:.2f} s ({enc[False][2]:.2f} -> {enc[True][2]:.2f} s CPU)")
    print(f"  runs in the last three calls: SAM encoder {runs[0]}, Swin backbone {runs[1]}, GroundingDINO {runs[2]}")
    print(f"  peak RSS {peak_mb:.0f} MB (the 'before' runs set it); masks {tuple(m.shape)} / {tuple(m2.shape)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
