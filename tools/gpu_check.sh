#!/usr/bin/env bash
# Every GPU figure issue 6 asks for, in one run (device machines cost minutes to start): the CUDA tests, the bench
# with heavy / N=64 / S=5, the lifter alone per variant, and the fast variants' accuracy. One file per step in
# $OUT (default gpu_out/); a failing step is recorded in its .err file and the next one runs.
#
#   OUT=gpu_out DEVICE=cuda bash tools/gpu_check.sh            # on a machine with a GPU and its own python3 + torch
#   DEVICE=cpu FRAMES=4 POSES=20 REPEATS=2 BATCH=4 BENCH_ARGS='--no-live --max-people 1' bash tools/gpu_check.sh
#                                          # plumbing check on any machine (CI runs it)
#
# Inputs, looked for in this order: the BlazePose files in weights/third_party (python -m weights.fetch), the clip
# at $VIDEO (default: pipeline.samples' vtest.avi), test poses at $POSES_FILE (default .cache/mocap/test.npz).
# Wheels in .whl/ (packages the machine lacks, e.g. tflite, ai-edge-litert, jsonschema) are installed to /tmp/site
# first. docs/speed.md ("GPU") says how to fit all of it into one device call.
set -u
PY=${PY:-python3}
OUT=${OUT:-gpu_out}
DEVICE=${DEVICE:-cuda}
FRAMES=${FRAMES:-300}
POSES=${POSES:-2000}
POSES_FILE=${POSES_FILE:-.cache/mocap/test.npz}
REPEATS=${REPEATS:-30}
MODELS=${MODELS:-heavy full}   # bench runs: heavy with N=64, full with N=16 (leave one out when its file is absent)
SKIP_TESTS=${SKIP_TESTS:-0}
BATCH=${BATCH:-64}             # frames per call of the lifter-only timing
read -r -a BENCH_EXTRA <<< "${BENCH_ARGS:-}"   # more bench options (the CPU plumbing test: --no-live --max-people 1)
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
VIDEO_ARG=()
[ -n "${VIDEO:-}" ] && VIDEO_ARG=(--source "$VIDEO")
if [[ $DEVICE == cuda* ]]; then GRAPH=(graph graph-bf16); FAST=graph-bf16; else GRAPH=(bf16); FAST=bf16; fi

step() {  # step NAME COMMAND...: stdout to $OUT/NAME, stderr to $OUT/NAME.err, status and seconds to $OUT/steps.txt
  local name=$1; shift
  local t0=$SECONDS rc
  "$@" > "$OUT/$name" 2> "$OUT/$name.err"
  rc=$?
  echo "$name rc=$rc $((SECONDS - t0))s" >> "$OUT/steps.txt"
}

: > "$OUT/steps.txt"
step machine.txt bash -c "nvidia-smi -L 2>/dev/null; $PY -c 'import torch, platform; print(\"torch\", torch.__version__, \"cuda\", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else \"-\", \"python\", platform.python_version())'"
# the lifter and CUDA tests (the BlazePose ONNX tests need every model file, which a device call may not carry)
[ "$SKIP_TESTS" = 1 ] || step tests.txt "$PY" -m pytest -q -p no:cacheprovider tests/test_onnx.py \
  tests/test_lifter_sampler.py tests/test_device_portability.py -k "cuda or lifter" -rs
for model in $MODELS; do
  n=16; [ "$model" = heavy ] && n=64
  step "bench_${model}_n$n.json" "$PY" -m pipeline.bench "${VIDEO_ARG[@]}" --device "$DEVICE" --runtime torch \
    --model "$model" --hypotheses "$n" --steps 5 --frames "$FRAMES" --no-mediapipe "${BENCH_EXTRA[@]}" --json
done
step lifter_only_n64.json "$PY" -m pipeline.bench "${VIDEO_ARG[@]}" --lifter-only --device "$DEVICE" --hypotheses 64 \
  --steps 5 --variants fp32 "${GRAPH[@]}" --batch "$BATCH" --repeats "$REPEATS" --json
for v in fp32 "$FAST"; do
  step "eval_n64_$v.json" "$PY" -m lifter.evaluate --poses "$POSES_FILE" --max-poses "$POSES" --hypotheses 64 --steps 5 \
    --device "$DEVICE" --variant "$v" --json
done
cat "$OUT/steps.txt"
