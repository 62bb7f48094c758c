"""Write a set of synthetic KM figures with their truth to a folder, and print what was made.

    python3 benchmarks/make_figure_set.py OUT_DIR [--n 30] [--seed 0] [--tiers clean,typical,hard]
                                         [--pdf]

Each figure goes to OUT_DIR/<tier>_<index>/ as figure.png|jpg, truth.json (FigureTruth.to_dict
plus "style"), ipd.csv, curves.csv (true KM corners) and risk.csv (when a table is drawn);
--pdf also writes figure.pdf (vector page; its truth, in pixels at style.dpi, as truth_pdf.json).
Figure i uses seed (seed, i), so the same command always writes the same set. Prints one line
per figure and a per-tier summary (render seconds per figure).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulate.figure import random_case, render_figure, render_pdf  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tiers", default="clean,typical,hard")
    ap.add_argument("--pdf", action="store_true", help="also write a vector PDF of each figure")
    args = ap.parse_args(argv)
    tiers = [t.strip() for t in args.tiers.split(",") if t.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    secs = defaultdict(list)
    index = []
    print(f"{'case':<12} {'arms':>4} {'n':>10} {'size':>10} {'dpi':>4} {'jpeg':>4} {'rot':>6} "
          f"{'noise':>5} {'marks':>5} {'bands':>5} {'legend':<13} {'table':>5} {'y':<9} unit")
    for i in range(args.n):
        tier = tiers[i % len(tiers)]
        rng = np.random.default_rng([args.seed, i])
        ipd, style = random_case(rng, tier)
        t0 = time.perf_counter()
        fig = render_figure(ipd, style)
        secs[tier].append(time.perf_counter() - t0)
        name = f"{tier}_{i:03d}"
        folder = args.out / name
        paths = fig.save(folder)
        if args.pdf:
            truth_pdf = render_pdf(ipd, style, folder / "figure.pdf")
            (folder / "truth_pdf.json").write_text(json.dumps(truth_pdf.to_dict()))
        t = fig.truth
        sizes = "/".join(str(int((ipd["arm"] == a).sum())) for a in t.arms)
        yax = ("pct" if style.y_percent else "frac") + (f">{style.y_min:g}" if style.y_min else "")
        leg = t.legend["loc"] if t.legend else "-"
        print(f"{name:<12} {len(t.arms):>4} {sizes:>10} {t.image_size[0]:>4}x{t.image_size[1]:<5} "
              f"{style.dpi:>4} {style.jpeg_quality or '-':>4} {style.rotation_deg:>6.2f} "
              f"{style.noise_sigma:>5.1f} {style.censor_mark:>5} {str(style.bands):>5} "
              f"{leg:<13} {str(style.risk_table):>5} {yax:<9} {style.time_unit}")
        index.append({"case": name, "tier": tier,
                      "image": str(paths["image"].relative_to(args.out)),
                      "truth": str(paths["truth"].relative_to(args.out))})
    (args.out / "index.json").write_text(json.dumps(index, indent=1))
    print()
    for tier, s in secs.items():
        print(f"{tier:<8} figures={len(s):>3}  render s/figure: mean={np.mean(s):.3f} "
              f"max={np.max(s):.3f}")
    print(f"wrote {len(index)} figures and index.json to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
