"""Measure real BlazePose heatmap statistics for the lifter's training simulator (configs/simulation.yaml).

Runs the BlazePose landmark model on real person crops: messi5.jpg (and its mirror image) and pedestrians in
vtest.avi, found by background subtraction (the pedestrians are too small for BlazePose's whole-frame detector),
each given a BlazePose ROI by the pose detector on an enlarged patch around the blob, then refined once from the
landmark model's helper points as the runtime's tracking does. Each person is also run on copies of the image cut
at the knees, hips or one side (the ROI kept, as tracking would), which puts landmarks outside the image exactly as
a person partly out of frame. Per landmark the joint map uses, on sigmoid(heatmap logits):

- sigma: width of the mode (cells): sqrt of the mean axis variance of (value - background) within 6 cells of the peak;
- peak height, and the peak -> regressed landmark distance (bias proxy; the model's regression head vs its heatmap);
- second mode: a value > 30 % of the peak beyond max(3, 2.5 sigma) cells, and whether it sits on the mirrored landmark;
- swap: the peak nearer the opposite side's regressed landmark than its own (landmarks > 3 cells apart);
- occluded (in image, visibility < 0.5) and outside (landmark outside the image or the crop) maps: peak and width;
- background: mean value beyond 6 cells from the peak, and the share of map mass farther than 3 sigma.

    python -m tools.heatmap_stats [--model full] [--step 3] [--max-frames N] [--json OUT.json] [--write-config]
"""
from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

from core.records import Roi
from detectors.joint_map import USED, map_points
from detectors.landmarks import INPUT_SIZE, crop_roi
from detectors.pose_detector import DetectorConfig, PoseDetector, alignment_roi
from detectors.runtime import load_model
from lifter.heatmap_sim import LANDMARK_NAMES, MIRROR
from pipeline.samples import sample_path
from weights.fetch import model_path

CELLS = 64
CELL_PX = INPUT_SIZE / CELLS
SECOND_REL = 0.3
RAYLEIGH_MEDIAN = float(np.sqrt(2 * np.log(2)))  # median distance / per-axis sigma of a 2D isotropic Gaussian
FAR = 6
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "simulation.yaml"


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------- real person crops

def vtest_people(video: Path, step: int, max_frames: int, warmup: int = 40) -> list[tuple[int, np.ndarray, tuple]]:
    """(frame index, BGR frame, blob box x0 y0 x1 y1) for pedestrian-sized foreground blobs (MOG2)."""
    cap = cv2.VideoCapture(str(video))
    sub = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=25, detectShadows=True)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out, index, used = [], -1, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        index += 1
        mask = sub.apply(frame)
        if index < warmup or index % step:
            continue
        mask = (mask == 255).astype(np.uint8)  # drop shadows (127)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel, iterations=3)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        for x, y, w, h, area in stats[1:]:
            if 70 <= h <= 400 and h >= 1.3 * w and area >= 0.25 * w * h:
                out.append((index, frame, (x, y, x + w, y + h)))
        used += 1
        if max_frames and used >= max_frames:
            break
    return out


def roi_for_blob(detector: PoseDetector, frame: np.ndarray, box: tuple) -> Roi:
    """BlazePose detector ROI on an enlarged square patch around the blob; a box-based ROI when it finds nobody."""
    x0, y0, x1, y1 = box
    cx, cy, h = (x0 + x1) / 2, (y0 + y1) / 2, y1 - y0
    side = 2.0 * h
    scale = 448.0 / side
    m = np.array([[scale, 0, -(cx - side / 2) * scale], [0, scale, -(cy - side / 2) * scale]])
    patch = cv2.warpAffine(frame, m, (448, 448), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    dets = detector.detect(patch)
    for d in dets:
        kp = (d.keypoints - m[:, 2]) / scale  # patch px -> frame px
        if abs(kp[0, 0] - cx) < 0.4 * h and abs(kp[0, 1] - cy) < 0.4 * h:
            return alignment_roi(kp[0], kp[1])
    return Roi(cx=cx, cy=cy, size=1.4 * h)


def run_landmarks(model, images_rgb: list[np.ndarray], rois: list[Roi]) -> dict[str, np.ndarray]:
    batch = np.stack([crop_roi(im, roi) for im, roi in zip(images_rgb, rois)])
    return model(batch)


def helper_roi(raw: np.ndarray, roi: Roi) -> Roi:
    """Tracking ROI from the landmark model's helper points 33, 34 (crop px -> image px)."""
    m = roi.crop_to_image(INPUT_SIZE)
    pts = raw[33:35, :2] @ m[:, :2].T + m[:, 2]
    return alignment_roi(pts[0], pts[1])


def cut_variants(image: np.ndarray, lm_img: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Copies of the image cut at the knees, at the hips and through the torso (out-of-frame landmarks)."""
    h, w = image.shape[:2]
    out = []
    knees_y = lm_img[[25, 26], 1].mean()
    hips_y = lm_img[[23, 24], 1].mean()
    for y in (knees_y, hips_y):
        y = int(np.clip(y + rng.uniform(-5, 5), 8, h - 1))
        out.append(image[:y].copy())
    # Right edge of the frame through the torso (a left cut would shift coordinates; mirror images cover it).
    x = int(np.clip(lm_img[[11, 12, 23, 24], 0].mean() + rng.uniform(-3, 3), 8, w - 8))
    out.append(np.ascontiguousarray(image[:, :x]))
    return out


def collect(model_name: str, step: int, max_frames: int, log) -> list[dict]:
    """Run the landmark model on every crop; returns one record per person crop with raw outputs."""
    detector = PoseDetector.load(num_threads=1, config=DetectorConfig(min_score=0.3))
    model = load_model(model_path(f"pose_landmark_{model_name}"), num_threads=1)
    items = []  # (tag, rgb image, initial roi)
    messi = cv2.imread(str(sample_path("messi5.jpg")))
    for tag, im in (("messi", messi), ("messi_mirror", np.ascontiguousarray(messi[:, ::-1]))):
        for d in detector.detect(im)[:1]:
            items.append((tag, cv2.cvtColor(im, cv2.COLOR_BGR2RGB), d.roi))
    blobs = vtest_people(sample_path("vtest.avi"), step, max_frames)
    log(f"vtest: {len(blobs)} pedestrian blobs")
    for index, frame, box in blobs:
        items.append((f"vtest:{index}", cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), roi_for_blob(detector, frame, box)))

    records = []
    rng = np.random.default_rng(0)
    for start in range(0, len(items), 16):
        chunk = items[start:start + 16]
        first = run_landmarks(model, [c[1] for c in chunk], [c[2] for c in chunk])
        rois = [helper_roi(first["Identity"][i].reshape(39, 5), c[2]) for i, c in enumerate(chunk)]
        out = run_landmarks(model, [c[1] for c in chunk], rois)
        for i, (tag, rgb, _) in enumerate(chunk):
            raw = out["Identity"][i].reshape(39, 5)
            presence = float(np.asarray(out["Identity_1"][i]).reshape(-1)[0])
            if presence < 0.5:
                continue
            rec = dict(tag=tag, image=rgb, roi=rois[i], raw=raw, heat=out["Identity_3"][i], presence=presence)
            records.append(rec)
            m = rois[i].crop_to_image(INPUT_SIZE)
            lm_img = raw[:33, :2] @ m[:, :2].T + m[:, 2]
            for cut in cut_variants(rgb, lm_img, rng):
                cout = run_landmarks(model, [cut], [rois[i]])
                records.append(dict(tag=tag + ":cut", image=cut, roi=rois[i], raw=cout["Identity"][0].reshape(39, 5),
                                    uncut=raw,
                                    heat=cout["Identity_3"][0],
                                    presence=float(np.asarray(cout["Identity_1"][0]).reshape(-1)[0])))
        log(f"  {min(start + 16, len(items))}/{len(items)} crops")
    return records


# ---------------------------------------------------------------- per-map measurements

def measure_map(logits: np.ndarray, own_cell: np.ndarray, mirror_cell: np.ndarray, others: np.ndarray) -> dict:
    """Statistics of one sigmoid heatmap (64, 64) given its own and its mirror's regressed landmark and the
    person's other body landmarks (cells)."""
    s = sigmoid(logits.astype(np.float64))
    r, c = np.unravel_index(np.argmax(s), s.shape)
    peak = s[r, c]
    rows, cols = np.mgrid[0:CELLS, 0:CELLS]
    dist = np.hypot(rows - r, cols - c)
    far = dist > FAR
    background = float(s[far].mean()) if far.any() else 0.0
    near = dist <= FAR
    wgt = np.clip(s - background, 0, None) * near
    wsum = wgt.sum()
    if wsum > 0:
        my, mx = (wgt * rows).sum() / wsum, (wgt * cols).sum() / wsum
        var = 0.5 * ((wgt * (rows - my) ** 2).sum() + (wgt * (cols - mx) ** 2).sum()) / wsum
        sigma = float(np.sqrt(var))
    else:
        sigma = float("nan")
    # Peak refined by the 3x3 centroid, as detectors.candidates.sample_candidates does.
    r0, r1, c0, c1 = max(r - 1, 0), min(r + 2, CELLS), max(c - 1, 0), min(c + 2, CELLS)
    patch = s[r0:r1, c0:c1]
    py = (patch * rows[r0:r1, c0:c1]).sum() / patch.sum()
    px = (patch * cols[r0:r1, c0:c1]).sum() / patch.sum()
    peak_xy = np.array([px, py])
    radius = max(3.0, 2.5 * sigma) if np.isfinite(sigma) else 3.0
    outside = dist > radius
    second = float(s[outside].max() / peak) if outside.any() else 0.0
    sr, sc = np.unravel_index(np.argmax(np.where(outside, s, -1)), s.shape)
    second_xy = np.array([sc, sr], dtype=float)
    mass = s.sum()
    core = 3 * max(sigma, 0.5) if np.isfinite(sigma) else 3.0
    tail = float(s[dist > core].sum() / mass)
    tail_far = float(s[dist > 2 * FAR].sum() / mass)
    d_other = np.hypot(*(others - second_xy).T)
    return dict(
        peak=float(peak), sigma=sigma, background=background, tail_mass=tail, tail_far=tail_far,
        second_at_other=bool(d_other.min() <= 3.0),
        offset=peak_xy - own_cell, second_rel=second,
        second_at_mirror=bool(np.hypot(*(second_xy - mirror_cell)) <= 3.0),
        swap=bool(np.hypot(*(mirror_cell - own_cell)) > 3.0
                  and np.hypot(*(peak_xy - mirror_cell)) < np.hypot(*(peak_xy - own_cell))),
    )


def roi_scale_ratios(records: list[dict]) -> np.ndarray:
    """ROI side / (2 x the largest hip-centre-to-joint distance of our 17 joints), on uncut runs: the simulator's
    roi_scale (its ROI is built from the true 17 joints that way)."""
    out = []
    for rec in records:
        if rec["tag"].endswith(":cut"):
            continue
        xy17 = map_points(rec["raw"][:33, :2])
        hip = (xy17[1] + xy17[4]) / 2
        radius = np.hypot(*(xy17 - hip).T).max()
        out.append(INPUT_SIZE / (2 * radius))  # the crop side is the ROI side
    return np.array(out)


def measure(records: list[dict]) -> dict[int, list[dict]]:
    """Per used landmark: a list of per-crop measurements with their category."""
    per = {j: [] for j in USED}
    names = list(USED)
    for rec in records:
        raw, heat = rec["raw"], rec["heat"]
        h, w = rec["image"].shape[:2]
        m = rec["roi"].crop_to_image(INPUT_SIZE)
        for j in USED:
            mj = names[MIRROR[names.index(j)]]
            own, mir = raw[j, :2] / CELL_PX, raw[mj, :2] / CELL_PX
            others = raw[[i for i in range(11, 33) if i not in (j, mj)], :2] / CELL_PX
            st = measure_map(heat[:, :, j], own, mir, others)
            x, y = raw[j, :2] @ m[:, :2].T + m[:, 2]
            in_image = 0 <= x < w and 0 <= y < h
            in_crop = bool(((raw[j, :2] >= 0) & (raw[j, :2] < INPUT_SIZE)).all())
            st["visibility"] = float(sigmoid(raw[j, 3]))
            st["category"] = ("outside" if not (in_image and in_crop)
                              else "occluded" if st["visibility"] < 0.5 else "visible")
            st["cut"] = rec["tag"].endswith(":cut")
            st["source"] = rec["tag"].split(":")[0].replace("_mirror", "")
            # In a cut image the uncut image's landmark stands in for the truth of a landmark now out of frame.
            st["error_vs_uncut"] = (float(np.hypot(*(st["offset"] + own - rec["uncut"][j, :2] / CELL_PX)))
                                    if st["cut"] else float("nan"))
            per[j].append(st)
    return per


# ---------------------------------------------------------------- summary and simulator settings

def _frac(flags: list) -> float:
    return float(np.mean(flags)) if flags else 0.0


def summarise(per: dict[int, list[dict]]) -> tuple[dict, dict]:
    """(table rows per landmark name, simulator heatmap settings)."""
    rows, cfg = {}, {k: {} for k in ("sigma_cells", "peak_height", "peak_height_std", "offset_cells",
                                     "second_mode_prob", "second_mode_at_mirror", "swap_prob", "occluded_prob",
                                     "background")}
    all_vis, all_out, all_occ = [], [], []
    for j, items in per.items():
        name = LANDMARK_NAMES[j]
        vis = [s for s in items if s["category"] == "visible"]
        occ = [s for s in items if s["category"] == "occluded"]
        occ_uncut = [s for s in occ if not s["cut"]]
        out = [s for s in items if s["category"] == "outside"]
        inimg = [s for s in items if s["category"] != "outside" and not s["cut"]]
        all_vis += vis
        all_occ += occ
        all_out += out
        arr = lambda xs, k: np.array([s[k] for s in xs], dtype=float)
        off = np.array([s["offset"] for s in vis]) if vis else np.zeros((0, 2))
        second = arr(inimg, "second_rel") > SECOND_REL
        rows[name] = dict(
            n_visible=len(vis), n_occluded=len(occ), n_outside=len(out),
            sigma_med=float(np.nanmedian(arr(vis, "sigma"))), sigma_p90=float(np.nanpercentile(arr(vis, "sigma"), 90)),
            peak_mean=float(arr(vis, "peak").mean()), peak_std=float(arr(vis, "peak").std()),
            offset_med=float(np.median(np.hypot(off[:, 0], off[:, 1]))),
            offset_rms_axis=float(np.sqrt((off ** 2).mean())),
            second_prob=float(second.mean()),
            second_at_mirror=_frac([s["second_at_mirror"] for s, f in zip(inimg, second) if f]),
            second_at_other=_frac([s["second_at_other"] and not s["second_at_mirror"] for s, f in zip(inimg, second) if f]),
            swap_prob=float(np.mean([s["swap"] for s in inimg])),
            occluded_frac=float(len(occ_uncut) / max(len(inimg), 1)),
            occluded_peak_med=float(np.median(arr(occ, "peak"))) if occ else float("nan"),
            outside_peak_med=float(np.median(arr(out, "peak"))) if out else float("nan"),
            tail_mass_med=float(np.nanmedian(arr(vis, "tail_mass"))),
            tail_mass_mean=float(np.nanmean(arr(vis, "tail_mass"))),
            tail_far_mean=float(np.nanmean(arr(vis, "tail_far"))),
            background_mean=float(arr(vis, "background").mean()),
            background_log_std=float(np.log(np.clip(arr(vis, "background"), 1e-9, None)).std()),
        )
        r = rows[name]
        cfg["sigma_cells"][name] = round(r["sigma_med"], 3)
        cfg["peak_height"][name] = round(r["peak_mean"], 3)
        cfg["peak_height_std"][name] = round(r["peak_std"], 3)
        cfg["offset_cells"][name] = round(r["offset_med"] / RAYLEIGH_MEDIAN, 3)
        cfg["second_mode_prob"][name] = round(r["second_prob"], 4)
        cfg["second_mode_at_mirror"][name] = round(r["second_at_mirror"], 3)
        cfg["background"][name] = round(r["background_mean"], 6)
        cfg["swap_prob"][name] = round(r["swap_prob"], 4)
        cfg["occluded_prob"][name] = round(r["occluded_frac"], 4)
    arr = lambda xs, k: np.array([s[k] for s in xs], dtype=float)
    vis_peak, vis_sigma = np.median(arr(all_vis, "peak")), np.nanmedian(arr(all_vis, "sigma"))
    out_peak = arr(all_out, "peak")
    flat = out_peak < 0.2
    out_cut = [s for s in all_out if s["cut"] and s["peak"] >= 0.2]
    vis_uncut_err = np.median(np.hypot(*np.array([s["offset"] for s in all_vis]).T))
    by_source = {}
    for src in sorted({s["source"] for s in all_vis}):
        sel = [s for s in all_vis if s["source"] == src and not s["cut"]]
        by_source[src] = dict(n=len(sel), sigma_med=float(np.nanmedian(arr(sel, "sigma"))),
                              peak_med=float(np.median(arr(sel, "peak"))),
                              offset_med=float(np.median(np.hypot(*np.array([s["offset"] for s in sel]).T))),
                              tail_far_mean=float(np.nanmean(arr(sel, "tail_far"))),
                              background_mean=float(arr(sel, "background").mean()))
    seconds = arr([s for s in all_vis + all_occ if not s["cut"]], "second_rel")
    seconds = seconds[seconds > SECOND_REL]
    overall = dict(
        n_maps=sum(len(v) for v in per.values()), n_visible=len(all_vis), n_occluded=len(all_occ),
        n_outside=len(all_out),
        background_med=float(np.median(arr(all_vis, "background"))),
        tail_mass_med=float(np.nanmedian(arr(all_vis, "tail_mass"))),
        flat_prob_outside=float(flat.mean()) if len(out_peak) else float("nan"),
        outside_peak_quantiles=[float(q) for q in np.quantile(out_peak, [0.1, 0.5, 0.9])] if len(out_peak) else [],
        occluded_peak_ratio=float(np.median(arr(all_occ, "peak")) / vis_peak) if all_occ else float("nan"),
        occluded_sigma_ratio=float(np.nanmedian(arr(all_occ, "sigma")) / vis_sigma) if all_occ else float("nan"),
        second_rel_quantiles=[float(q) for q in np.quantile(seconds, [0.1, 0.9])] if len(seconds) else [],
        outside_nonflat_peak_ratio=float(np.median(arr(out_cut, "peak")) / vis_peak) if out_cut else float("nan"),
        outside_nonflat_sigma_ratio=float(np.nanmedian(arr(out_cut, "sigma")) / vis_sigma) if out_cut else float("nan"),
        outside_error_vs_uncut_med=float(np.nanmedian(arr(out_cut, "error_vs_uncut"))) if out_cut else float("nan"),
        n_outside_cut=len(out_cut),
        visible_offset_med=float(vis_uncut_err),
        by_source=by_source,
    )
    cfg.update(
        background_log_std=round(float(np.median([r["background_log_std"] for r in rows.values()])), 3),
        sigma_log_std=round(float(np.nanmedian([np.nanstd(np.log(arr([s for s in per[j] if s["category"] == "visible"],
                                                                      "sigma"))) for j in per])), 3),
        second_mode_rel=[round(q, 3) for q in overall["second_rel_quantiles"]] or [0.3, 1.0],
        flat_prob_outside=round(overall["flat_prob_outside"], 3),
        flat_level=[round(float(q), 4) for q in np.quantile(out_peak[flat], [0.1, 0.9])] if flat.any() else [0.01, 0.1],
        occluded_height_scale=round(overall["occluded_peak_ratio"], 3),
        occluded_width_scale=round(overall["occluded_sigma_ratio"], 3),
        outside_height_scale=round(overall["outside_nonflat_peak_ratio"], 3),
        outside_width_scale=round(overall["outside_nonflat_sigma_ratio"], 3),
        outside_offset_cells=round(overall["outside_error_vs_uncut_med"] / RAYLEIGH_MEDIAN, 3),
    )
    return dict(landmarks=rows, overall=overall), cfg


def write_config(settings: dict, command: str, roi: dict | None = None, path: Path = CONFIG) -> None:
    """Replace the heatmap section of configs/simulation.yaml (and the ROI scale lines when given), keeping the rest."""
    text = path.read_text()
    for key, value in (roi or {}).items():
        text = re.sub(rf"(?m)^(roi:\n(?:  .*\n)*?  {key}: )[^#\n]*", lambda m: f"{m.group(1)}{value}", text)
    start = re.search(r"(?m)^heatmap:", text)
    head = text[: start.start()] if start else text
    head = "".join(line for line in head.splitlines(keepends=True) if not line.startswith("# heatmap:"))
    old = yaml.safe_load(text).get("heatmap") or {}
    section = dict(old)
    section.update(settings)
    section.setdefault("flat_width_cells", 12.0)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = f"# heatmap: measured on real BlazePose maps by `{command}` ({stamp})\n"
    path.write_text(head + note + yaml.safe_dump({"heatmap": section}, sort_keys=False, width=120))


def print_table(summary: dict, file=sys.stdout) -> None:
    cols = ("n_visible", "n_occluded", "n_outside", "sigma_med", "peak_mean", "peak_std", "offset_med",
            "offset_rms_axis", "second_prob", "second_at_mirror", "swap_prob", "occluded_frac", "occluded_peak_med",
            "outside_peak_med", "tail_mass_mean", "tail_far_mean", "second_at_other", "background_mean",
            "background_log_std")
    print("landmark        " + " ".join(f"{c[:10]:>10}" for c in cols), file=file)
    for name, r in summary["landmarks"].items():
        print(f"{name:15s} " + " ".join(f"{r[c]:10.3f}" if isinstance(r[c], float) else f"{r[c]:10d}" for c in cols),
              file=file)
    print(json.dumps(summary["overall"]), file=file)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="full", choices=("lite", "full", "heavy"))
    ap.add_argument("--step", type=int, default=3, help="use every n-th vtest frame")
    ap.add_argument("--max-frames", type=int, default=0, help="at most this many vtest frames (0: all)")
    ap.add_argument("--json", type=Path, help="write the summary here")
    ap.add_argument("--write-config", action="store_true", help="update the heatmap section of the simulator config")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)
    records = collect(args.model, args.step, args.max_frames, log)
    log(f"{len(records)} landmark runs in {time.perf_counter() - t0:.0f} s")
    summary, settings = summarise(measure(records))
    ratios = roi_scale_ratios(records)
    summary["overall"]["roi_scale_quantiles"] = [float(q) for q in np.quantile(ratios, [0.1, 0.5, 0.9])]
    summary["overall"]["roi_scale_log_std"] = float(np.log(ratios).std())
    summary["overall"]["n_runs"] = len(records)
    summary["overall"]["model"] = args.model
    print_table(summary)
    if args.json:
        args.json.write_text(json.dumps(dict(summary=summary, settings=settings), indent=1))
    if args.write_config:
        command = "python -m tools.heatmap_stats " + " ".join(argv if argv is not None else sys.argv[1:])
        roi = dict(scale=round(summary["overall"]["roi_scale_quantiles"][1], 3),
                   scale_jitter=round(summary["overall"]["roi_scale_log_std"], 3))
        write_config(settings, command.strip(), roi)
        log(f"wrote {CONFIG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
