#!/usr/bin/env bash
# GPU check in one go (issue 13), at most ~8 minutes on one NVIDIA GPU:
#   1. installs the gpu extra into a venv (unless SKIP_INSTALL=1: then $PYTHON is used as it is),
#   2. prints the devices TensorFlow sees (nvidia-smi too) and fails when there is no GPU,
#   3. confirms the paper's LSTMs trace to cuDNN kernels (CudnnRNNV3) in float32 and mixed precision,
#   4. times the paper-size series network (1,600 x 500 x 52, batch 32) per epoch in both precisions,
#   5. runs a small `experiment=paper` end to end (simulated TEP runs, generated text, GPU training),
#   5b. times the text ensemble (5 members) trained one after another against batched in one model
#      (model.text.batched_ensemble, issue 23) and grouped (model.text.grouped_lstm: one wide cuDNN LSTM),
#      ABCCBA, on the bundled texts (scripts/benchmark.py --ensembles --grouped),
#   6. writes every figure to $OUT/gpu_check.md (and gpu_check.json, the run's metrics.json).
#
#     bash scripts/gpu_check.sh                      # OUT defaults to outputs/gpu_check
#     OUT=/some/dir SKIP_INSTALL=1 PYTHON=.venv/bin/python bash scripts/gpu_check.sh
#     CPU_EPOCH_S=<s/epoch on your CPU> bash scripts/gpu_check.sh   # for the speed-up line
#     ALLOW_CPU=1 SAMPLES=64 SKIP_INSTALL=1 PYTHON=.venv/bin/python bash scripts/gpu_check.sh  # try it on a CPU
#
# Any failed step stops the script with "GPU CHECK FAILED" and a non-zero exit code; nothing is
# reported as passed that was not measured.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-outputs/gpu_check}"
VENV="${VENV:-.venv-gpu}"
CPU_EPOCH_S="${CPU_EPOCH_S:-}"      # series s/epoch measured on a CPU (README), for the speed-up ratio
SAMPLES="${SAMPLES:-1600}"          # series in the timed training set (the paper's 1,600)
ALLOW_CPU="${ALLOW_CPU:-0}"         # 1: go on without a GPU (only to try the script; figures are then CPU's)
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
step="start"
trap 'echo "GPU CHECK FAILED at step: $step (exit $?); see $LOG" | tee -a "$LOG" >&2' ERR
say() { echo "== $*" | tee -a "$LOG"; }
start=$(date +%s)

step="1 install the gpu extra"
if [ "${SKIP_INSTALL:-0}" = "1" ]; then
    PYTHON="${PYTHON:-python3}"
    say "$step: skipped (SKIP_INSTALL=1), using $PYTHON"
else
    say "$step into $VENV"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    timeout 300 "$VENV/bin/python" -m pip install --quiet --upgrade pip >>"$LOG" 2>&1
    timeout 300 "$VENV/bin/python" -m pip install --quiet -e ".[gpu]" >>"$LOG" 2>&1
    PYTHON="$VENV/bin/python"
fi
"$PYTHON" -m pip list 2>/dev/null | grep -i -E '^(tensorflow|nvidia-cudnn|keras) ' | tee -a "$LOG"
n_tf=$("$PYTHON" -m pip list --format=freeze 2>/dev/null | grep -c -i -E '^(tensorflow|tensorflow[-_](cpu|gpu|intel|macos|rocm)|tf[-_]nightly([-_](cpu|gpu|intel|macos))?)==' || true)
if [ "$n_tf" != "1" ]; then
    echo "GPU CHECK FAILED: $n_tf TensorFlow distributions installed, expected exactly 1" | tee -a "$LOG" >&2
    exit 1
fi

step="2 devices"
say "$step"
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee -a "$LOG"
else
    say "nvidia-smi not found (TensorFlow below decides)"
fi

step="3-4 cuDNN kernels and paper-size epoch timings"
say "$step"
cpu_flag=""
[ "$ALLOW_CPU" = "1" ] && cpu_flag="--allow-cpu"
timeout 240 "$PYTHON" scripts/gpu_check.py --out "$OUT" --samples "$SAMPLES" --epochs 3 $cpu_flag 2>&1 | tee -a "$LOG"

step="5 small experiment=paper end to end"
say "$step"
run_dir="$OUT/paper_small"
rm -rf "$run_dir"
t0=$(date +%s)
timeout "${PAPER_TIMEOUT:-180}" "$PYTHON" -m mmfusion train experiment=paper dataset.samples_per_class=100 \
    dataset.series.runs_per_class=10 dataset.series.workers="$(nproc)" dataset.series.cache_dir="$OUT/cache" \
    dataset/text=generate model.series.epochs=3 model.text.epochs=3 evaluation.bootstrap=100 \
    hydra.run.dir="$run_dir" 2>&1 | tail -n 8 | tee -a "$LOG"
t1=$(date +%s)
[ -f "$run_dir/COMPLETE" ] || { echo "GPU CHECK FAILED: $run_dir has no COMPLETE marker" | tee -a "$LOG" >&2; exit 1; }

step="5b batched and grouped text ensemble against sequential (benchmark.py --ensembles --grouped --quick)"
say "$step"
timeout "${ENSEMBLE_TIMEOUT:-420}" "$PYTHON" scripts/benchmark.py --ensembles --grouped --quick --cases paper_text \
    --parts ensemble --out "$OUT/ensembles.md" dataset.series.runs_per_class=10 \
    dataset.series.cache_dir="$OUT/cache" dataset.series.workers="$(nproc)" 2>&1 | tail -n 12 | tee -a "$LOG"
[ -s "$OUT/ensembles.md" ] || { echo "GPU CHECK FAILED: no $OUT/ensembles.md" | tee -a "$LOG" >&2; exit 1; }

step="6 report"
"$PYTHON" - "$OUT" "$((t1 - t0))" "$CPU_EPOCH_S" "$(( $(date +%s) - start ))" <<'EOF' | tee "$OUT/gpu_check.md"
import json, sys
from pathlib import Path
from mmfusion.rundir.records import read_metrics
out, paper_s, cpu, total = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
r = json.loads((out / "gpu_check.json").read_text())
m = read_metrics(out / "paper_small")  # metrics.json, through its one reader
f32, f16 = r["series_epoch_s_float32"], r["series_epoch_s_mixed_float16"]
print(f"# GPU check (`bash scripts/gpu_check.sh`)\n")
print(f"- GPU(s): {', '.join(r['gpus']) or 'NONE (ALLOW_CPU=1: CPU figures)'}; TensorFlow {r['tensorflow']} (CUDA {r['cuda_version']}, cuDNN "
      f"{r['cudnn_version']}), Keras {r['keras']}, Python {r['python']}")
print(f"- cuDNN LSTM ops in the training step: float32 {r['cudnn_lstm_ops_float32']}, mixed precision "
      f"{r['cudnn_lstm_ops_mixed_float16']} (the paper's network has 3 LSTM layers)")
print(f"- series network, {r['samples']:,} x 500 x 52, batch 32: {f32:.2f} s/epoch float32, {f16:.2f} s/epoch "
      f"mixed precision")
if cpu:
    print(f"- speed-up over the CPU's {float(cpu):.1f} s/epoch: float32 {float(cpu) / f32:.1f}x, mixed "
          f"{float(cpu) / f16:.1f}x (target >= 10x)")
acc = {k: v["accuracy"] for k, v in m.models.items()}
print(f"- small experiment=paper (100 pairs per class, 10 runs per fault, 3 epochs each): {paper_s} s end to "
      f"end, test accuracy {acc}")
print(f"- whole check: {total} s")
ens = out / "ensembles.md"
if ens.exists():
    print("\n## Text ensemble: sequential against batched and grouped (step 5b)\n")
    print(ens.read_text())
EOF
say "done: $OUT/gpu_check.md"
