"""Optional 2D backend: any MMPose (1.x) top-down heatmap model instead of BlazePose's landmark model.

mmpose is not a project requirement (install notes: docs/mmpose.md): it is imported, through core.optional, only
when a backend is constructed. MMPoseFrontEnd is the core.protocols.FrontEnd the pipeline uses (--backend mmpose). The user gives an
MMPose config and checkpoint; the model runs top-down on our Detection's body box, and its heatmaps (COCO-17 or
MPII-16 keypoints) become candidates for our 17 joints through the same sampler and the same kind of weight
table as BlazePose's (detectors.joint_map): pelvis = mid-hips, thorax = mid-shoulders (COCO) or MPII's thorax,
spine = mid(pelvis, thorax), head top = COCO's mid-ears extended away from the thorax (joint_map.HEAD_EXTENSION)
or MPII's head top, neck/nose = COCO nose or MPII upper neck.

    backend = MMPoseBackend("td-hm_hrnet-w32_8xb64-210e_coco-256x192.py", "hrnet_w32_coco.pth")
    candidates = backend.candidates(frame.image, person.detection)
    fe = MMPoseFrontEnd(backend, PoseDetector.load())    # persons, state = fe.process(frame, state)
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core import defaults
from core.optional import optional_import
from core.protocols import FrontEndOutput
from core.records import Candidates, Detection, Frame, Person
from core.skeleton import JOINT_INDEX, NUM_JOINTS
from detectors.candidates import sampling_generator
from detectors.joint_map import HEAD_EXTENSION, candidates_from_heatmaps
from detectors.pose_detector import PoseDetector
from detectors.tracking import TrackerState

MMPOSE_DOCS = "docs/mmpose.md"

COCO17 = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
          "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
MPII16 = ("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax", "upper_neck",
          "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist")
LIMBS = ("r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
         "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist")


def _limb_rows(t: np.ndarray, names: tuple[str, ...]) -> None:
    for name in LIMBS:
        t[JOINT_INDEX[name], names.index(name)] = 1.0


def coco_table() -> np.ndarray:
    """(17, 17): our joints from COCO keypoints."""
    c = COCO17.index
    t = np.zeros((NUM_JOINTS, len(COCO17)))
    _limb_rows(t, COCO17)
    t[JOINT_INDEX["pelvis"], [c("l_hip"), c("r_hip")]] = 0.5
    t[JOINT_INDEX["thorax"], [c("l_shoulder"), c("r_shoulder")]] = 0.5
    t[JOINT_INDEX["spine"], [c("l_hip"), c("r_hip"), c("l_shoulder"), c("r_shoulder")]] = 0.25
    t[JOINT_INDEX["neck"], c("nose")] = 1.0
    t[JOINT_INDEX["head"], [c("l_ear"), c("r_ear")]] = 0.5 * (1.0 + HEAD_EXTENSION)
    t[JOINT_INDEX["head"], [c("l_shoulder"), c("r_shoulder")]] = -0.5 * HEAD_EXTENSION
    return t


def mpii_table() -> np.ndarray:
    """(17, 16): our joints from MPII keypoints."""
    m = MPII16.index
    t = np.zeros((NUM_JOINTS, len(MPII16)))
    _limb_rows(t, MPII16)
    t[JOINT_INDEX["pelvis"], m("pelvis")] = 1.0
    t[JOINT_INDEX["thorax"], m("thorax")] = 1.0
    t[JOINT_INDEX["spine"], [m("pelvis"), m("thorax")]] = 0.5
    t[JOINT_INDEX["neck"], m("upper_neck")] = 1.0
    t[JOINT_INDEX["head"], m("head_top")] = 1.0
    return t


def table_for(num_keypoints: int) -> np.ndarray:
    if num_keypoints == len(COCO17):
        return coco_table()
    if num_keypoints == len(MPII16):
        return mpii_table()
    raise ValueError(f"MMPose model has {num_keypoints} keypoints; only COCO-17 and MPII-16 models are mapped")


def cell_to_image(input_center, input_scale, input_size, heatmap_size) -> np.ndarray:
    """2x3 affine: heatmap cell (c, r) -> image px, following MMPose's top-down conventions: cell c is input px
    c * input_w / heatmap_w (MSRAHeatmap codec), input px u is image x = center + (u - input_w / 2) * scale_w /
    input_w (TopdownAffine without rotation)."""
    (cx, cy), (sw, sh) = np.asarray(input_center, float), np.asarray(input_scale, float)
    (iw, ih), (hw, hh) = input_size, heatmap_size
    return np.array([[iw / hw * sw / iw, 0.0, cx - sw / 2], [0.0, ih / hh * sh / ih, cy - sh / 2]])


class MMPoseBackend:
    def __init__(self, config: str | Path, checkpoint: str | Path | None = None, device: str = "cpu",
                 k: int = defaults.CANDIDATES, seed: int | None = None, cfg_options: dict | None = None):
        self.apis = optional_import("mmpose.apis", "the MMPose backend", MMPOSE_DOCS)
        self.model = self.apis.init_model(str(config), None if checkpoint is None else str(checkpoint), device=device,
                                cfg_options=cfg_options)
        self.model.test_cfg["output_heatmaps"] = True
        self.table = table_for(int(self.model.dataset_meta["num_keypoints"]))
        self.k = k
        self.generator = sampling_generator(seed)

    def heatmaps(self, image_bgr: np.ndarray, bbox: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Top-down inference on one box (x0, y0, x1, y1): returns (heatmaps (S, h, w) clipped to 0..1,
        cell -> image 2x3 affine, MMPose's own decoded keypoints (S, 2) image px)."""
        sample = self.apis.inference_topdown(self.model, image_bgr, bboxes=np.asarray(bbox, float).reshape(1, 4),
                                   bbox_format="xyxy")[0]
        heat = sample.pred_fields.heatmaps
        heat = heat.detach().cpu().numpy() if hasattr(heat, "detach") else np.asarray(heat)
        meta = sample.metainfo
        affine = cell_to_image(np.ravel(meta["input_center"]), np.ravel(meta["input_scale"]), meta["input_size"],
                               (heat.shape[-1], heat.shape[-2]))
        keypoints = np.asarray(sample.pred_instances.keypoints)[0]
        return np.clip(heat, 0.0, 1.0).astype(np.float32), affine, keypoints

    def candidates(self, image_bgr: np.ndarray, detection: Detection) -> Candidates:
        heat, affine, _ = self.heatmaps(image_bgr, detection.bbox)
        return candidates_from_heatmaps(heat, affine, self.table, self.k, cell_px=1.0, generator=self.generator)


class MMPoseFrontEnd:
    """core.protocols.FrontEnd with an MMPose heatmap model: BlazePose's person detector finds the most confident
    person on every frame (no ROI tracking: the MMPose model does not predict the next ROI), the MMPose model gives
    its candidates. A person found on consecutive frames keeps its id."""

    def __init__(self, backend: MMPoseBackend, detector: PoseDetector):
        self.backend, self.detector = backend, detector

    def process(self, frame: Frame, state: TrackerState | None = None) -> FrontEndOutput:
        state = state or TrackerState()
        t0 = time.perf_counter()
        found = self.detector.detect(frame.image)
        t1 = time.perf_counter()
        timings = {"detect": (t1 - t0) * 1e3, "landmarks": 0.0, "candidates": 0.0}
        if not found:
            return FrontEndOutput([], TrackerState(next_id=state.next_id, frame_index=frame.index,
                                                   timings_ms=timings))
        detection = found[0]
        candidates = self.backend.candidates(frame.image, detection)
        timings["candidates"] = (time.perf_counter() - t1) * 1e3
        person_id, next_id = (state.person_id, state.next_id) if state.person_id >= 0 else \
            (state.next_id, state.next_id + 1)
        person = Person(id=person_id, detection=detection, candidates=candidates)
        return FrontEndOutput([person], TrackerState(person_id=person_id, next_id=next_id, frame_index=frame.index,
                                                     timings_ms=timings))
