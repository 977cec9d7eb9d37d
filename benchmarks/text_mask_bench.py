"""Text -> mask CPU benchmark: GroundingDINO-T + SAM ViT-B (random weights, real sizes) on a 1024 px image.

    python -m benchmarks.text_mask_bench            # full size, 2 threads
    python -m benchmarks.text_mask_bench --quick    # tiny models, seconds

Reports the first prompt (GroundingDINO + SAM image encoder + decoder), a second prompt on the
same image (SAM embedding and Swin features reused), the same prompt again with another mode
(GroundingDINO outputs reused: the threshold/mode tweaking case), the parts, and peak resident
memory. Not a test.
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
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny models (smoke run)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=1024, help="square image side in pixels")
    ap.add_argument("--detect-size", type=int, default=800, help="short side GroundingDINO sees (node input)")
    ap.add_argument("--boxes", type=int, default=3, help="objects per prompt to segment (typical real count)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    (dino, sam), t_build = _timed(lambda: build(args.quick))
    image = torch.rand((1, args.size, args.size, 3), generator=torch.Generator().manual_seed(0))
    cpu = torch.device("cpu")
    # random weights score every query alike: keep the --boxes best detections per prompt, as a
    # real model with a real prompt would return a handful of objects
    run = lambda prompt, mode="union": text_to_masks(dino, sam, image, prompt, 0.0, 0.0, mode, cpu, cpu,  # noqa: E731
                                                    detect_size=args.detect_size, max_objects=args.boxes)
    (m1, info1), t1 = _timed(lambda: run("dog"))
    (m2, info2), t2 = _timed(lambda: run("cat . red car"))
    _, t3 = _timed(lambda: run("cat . red car", "largest"))
    runs = (sam.encoder_calls, dino.backbone_calls, dino.model_calls)
    dino.cache.clear()
    dino.outputs.clear()
    _, t_det = _timed(lambda: detect(dino, image[0], ["dog"], 0.0, 0.0, cpu, short_side=args.detect_size))
    pixels = preprocess(dino, image[0], cpu, torch.float32, args.detect_size)
    with torch.inference_mode():
        _, t_swin = _timed(lambda: dino.model.model.backbone(pixels, torch.ones(1, *pixels.shape[2:], dtype=torch.long)))
    sam.cache.clear()
    _, t_enc = _timed(lambda: embed(sam, image[0], cpu, torch.float32))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = "quick (tiny models)" if args.quick else "full (GroundingDINO-T + SAM ViT-B, random weights)"
    print(f"text_mask_bench: {kind}, {args.size}x{args.size} image, GroundingDINO at short side {args.detect_size}, {args.threads} CPU threads, torch {torch.__version__}")
    print(f"  build models                 {t_build:7.2f} s (not counted)")
    print(f"  first prompt  'dog'          {t1:7.2f} s  ({len(info1['images'][0]['detections'])} boxes)  goal <= 12 s")
    print(f"  second prompt 'cat . red car' {t2:6.2f} s  ({len(info2['images'][0]['detections'])} boxes)  goal <= 3 s")
    print(f"  same prompt, mode 'largest'  {t3:7.2f} s  (thresholds/mode tweak: GroundingDINO outputs reused)")
    print(f"  parts: GroundingDINO {t_det:.2f} s (of which Swin backbone {t_swin:.2f} s), SAM image encoder {t_enc:.2f} s")
    print(f"  runs in the three calls: SAM encoder {runs[0]}, Swin backbone {runs[1]}, GroundingDINO {runs[2]}")
    print(f"  peak RSS {peak_mb:.0f} MB; masks {tuple(m1.shape)} / {tuple(m2.shape)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
