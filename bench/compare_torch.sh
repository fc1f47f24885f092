#!/usr/bin/env bash
# cf against PyTorch on this machine, side by side (docs/PERFORMANCE.md,
# "Against PyTorch"): for each model, batch and thread count, bench_train
# (cf) and bench/torch_models.py (the same architecture in PyTorch, equal
# parameter count) run alternately, one process per measurement, for several
# pairs; then a table of the medians, the median of the per-pair ratios, and
# peak RSS. Then the autograd overhead per recorded op.
#
#   bench/compare_torch.sh [--quick] [--pairs P] [--batches "64 128"]
#                          [--threads "1 2"] [--build DIR] [--log FILE] [MODEL ...]
#
# MODEL: any of the seven in models_all below (default: all). --quick takes
# fewer steps (1 warm-up, 1 timed training step, 2 inference passes instead
# of 2, 5, 5), so that the whole table takes about half an hour here.
# PyTorch runs with /usr/bin/python3 (or $TORCH_PYTHON); the PyTorch side
# gets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment
# (OpenBLAS then picks its best kernel for this CPU), OPENBLAS_NUM_THREADS
# set to the thread count, and OMP_WAIT_POLICY=PASSIVE unless it is set
# already: with GNU OpenMP's default spin-waiting, PyTorch at 2 threads ran
# at a quarter of its 1-thread speed on this shared 2-vCPU machine, its idle
# OpenMP workers spinning against OpenBLAS's threads. cf's environment is
# left as it is.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
models_all="vit_lite_cpu cct_2_3x2 mixer_cifar vision_columnformer_ff_tiny_cifar aft_simple_cifar ut_cifar cortical_baseline"
build="$root/build-bench"
python=${TORCH_PYTHON:-/usr/bin/python3}
pairs=3 batches="64 128" thread_counts="1 2" log=""
warmup=2 steps=5 infer=5 autograd_runs=7
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) warmup=1 steps=1 infer=2 autograd_runs=5 ;;
    --pairs) pairs=$2; shift ;;
    --batches) batches=$2; shift ;;
    --threads) thread_counts=$2; shift ;;
    --build) build=$2; shift ;;
    --log) log=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "compare_torch.sh: unknown option $1" >&2; exit 2 ;;
    *) [[ " $models_all " == *" $1 "* ]] || { echo "compare_torch.sh: unknown model $1 (known: $models_all)" >&2; exit 2; }
       models+=("$1") ;;
  esac
  shift
done
[[ ${#models[@]} -gt 0 ]] || read -r -a models <<< "$models_all"

bench="$build/bench/bench_train"
if [[ ! -x "$bench" ]]; then
  echo "compare_torch.sh: $bench not found; build it with" >&2
  echo "  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCF_BUILD_BENCH=ON && cmake --build build-bench -j2 --target bench_train" >&2
  exit 1
fi
torch_version=$("$python" -c 'import torch; print(torch.__version__)') || {
  echo "compare_torch.sh: $python cannot import torch (set TORCH_PYTHON)" >&2; exit 1; }
# Debian's python3-torch (BLAS_INFO=generic) runs its matmuls on whatever
# libblas.so.3 the system selects. With the reference BLAS (libopenblas0 not
# installed) PyTorch ran ViT-lite inference 15x slower here, which would
# make the comparison meaningless, so refuse.
if "$python" -c 'import sys, torch; sys.exit("BLAS_INFO=generic" not in torch.__config__.show())'; then
  # awk reads to the end: leaving early would end ldconfig with SIGPIPE,
  # which pipefail turns into this script's exit status (141).
  libblas=$(ldconfig -p 2>/dev/null | awk '$1 == "libblas.so.3" && !found {print $NF; found = 1}')
  if [[ -n "$libblas" ]] && ! readlink -f "$libblas" | grep -qiE 'openblas|blis|mkl'; then
    echo "compare_torch.sh: PyTorch would use the reference BLAS ($(readlink -f "$libblas")), about 15x slower than OpenBLAS; install libopenblas0 (Debian: apt install libopenblas0)" >&2
    exit 1
  fi
fi
[[ -n "$log" ]] || log=$(mktemp /tmp/compare_torch.XXXXXX)
: > "$log"

echo "cf against PyTorch $torch_version, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PyTorch side: unset OPENBLAS_CORETYPE (was '${OPENBLAS_CORETYPE-}') and OPENBLAS_L2_SIZE (was '${OPENBLAS_L2_SIZE-}'),"
omp_wait=${OMP_WAIT_POLICY:-PASSIVE}
echo "  OPENBLAS_NUM_THREADS = the thread count, OMP_WAIT_POLICY=$omp_wait; cf side: environment unchanged"
echo "protocol: $warmup warm-up + $steps timed training steps (forward, cross-entropy, backward, AdamW),"
echo "  $infer inference passes; $pairs pairs per row, cf and PyTorch alternately; raw lines in $log"
start=$SECONDS

run_cf() { "$bench" "$@" | tee -a "$log"; }
run_torch() {
  local threads=$1; shift
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" OMP_WAIT_POLICY="$omp_wait" \
    "$python" "$root/bench/torch_models.py" "$@" --threads "$threads" | tee -a "$log"
}

# Odd pairs run cf first, even pairs PyTorch first, so that a drift in the
# machine's load does not always favour the same side.
for model in "${models[@]}"; do
  for batch in $batches; do
    for threads in $thread_counts; do
      for ((pair = 1; pair <= pairs; ++pair)); do
        args=("$model" --batch "$batch" --warmup "$warmup" --steps "$steps" --infer "$infer")
        if ((pair % 2)); then
          run_cf "${args[@]}" --threads "$threads"; run_torch "$threads" "${args[@]}"
        else
          run_torch "$threads" "${args[@]}"; run_cf "${args[@]}" --threads "$threads"
        fi
      done
    done
  done
done
for threads in $thread_counts; do
  for ((pair = 1; pair <= pairs; ++pair)); do
    run_cf autograd --threads "$threads" --runs "$autograd_runs"
    run_torch "$threads" autograd --runs "$autograd_runs"
  done
done

echo
"$python" - "$log" <<'EOF'
"""The table: per (model, batch, threads), the medians of each side, the
median of the per-pair ratios (cf / PyTorch) and their range."""
import statistics
import sys
from collections import defaultdict

runs = defaultdict(lambda: {"cf": [], "torch": []})
for line in open(sys.argv[1]):
    fields = dict(item.split("=", 1) for item in line.split())
    key = (fields["model"], fields.get("batch", "-"), fields["threads"])
    runs[key][fields["side"]].append(fields)


def med(rows, key):
    return statistics.median(float(r[key]) for r in rows)


def ratios(cf, torch, key):
    """cf / PyTorch of each pair (the i-th run of each side)."""
    return [float(a[key]) / float(b[key]) for a, b in zip(cf, torch)]


print("| model | batch | thr | params cf / torch | train img/s cf | torch | cf/torch (range) "
      "| infer img/s cf | torch | cf/torch (range) | peak RSS MB cf | torch | cf/torch |")
print("|---|---:|---:|---|---:|---:|---|---:|---:|---|---:|---:|---:|")
for (model, batch, threads), side in runs.items():
    cf, torch = side["cf"], side["torch"]
    if model == "autograd" or not cf or not torch:
        continue
    params = cf[0]["params"] + (" = " if cf[0]["params"] == torch[0]["params"] else " != ") + torch[0]["params"]
    cells = [model, batch, threads, params]
    for key in ("train_img_s", "infer_img_s"):
        r = ratios(cf, torch, key)
        cells += [f"{med(cf, key):.1f}", f"{med(torch, key):.1f}",
                  f"**{statistics.median(r):.2f}x** ({min(r):.2f}-{max(r):.2f})"]
    cells += [f"{med(cf, 'peak_rss_mb'):.0f}", f"{med(torch, 'peak_rss_mb'):.0f}",
              f"{statistics.median(ratios(cf, torch, 'peak_rss_mb')):.2f}x"]
    print("| " + " | ".join(cells) + " |")

print()
print("The FMA ceiling: the matrix products' work per image (cf's count; PyTorch's models run the same\n"
      "products), the rate each side reached as a share of the FMA throughput of the same threads\n"
      "(fma_peak_gflop_s), and the largest cf/torch ratio possible: cf running every product at that\n"
      "throughput and spending no time on anything else.\n")
print("| model | batch | thr | GFLOP/img train | infer | FMA GFLOP/s | train % of FMA cf | torch "
      "| train ceiling cf/torch | infer % of FMA cf | torch | infer ceiling cf/torch |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (model, batch, threads), side in runs.items():
    cf, torch = side["cf"], side["torch"]
    if model == "autograd" or not cf or not torch or "fma_peak_gflop_s" not in cf[0]:
        continue
    peak = med(cf, "fma_peak_gflop_s")
    cells = [model, batch, threads, f"{med(cf, 'train_gflop_img'):.3f}", f"{med(cf, 'infer_gflop_img'):.3f}",
             f"{peak:.0f}"]
    for rate, work in (("train_img_s", "train_gflop_img"), ("infer_img_s", "infer_gflop_img")):
        gflop = med(cf, work)
        cells += [f"{100 * med(cf, rate) * gflop / peak:.0f} %", f"{100 * med(torch, rate) * gflop / peak:.0f} %",
                  f"**{peak / gflop / med(torch, rate):.2f}x**"]
    print("| " + " | ".join(cells) + " |")

print()
print("| autograd, 10,000 ops | thr | cf us/op | torch us/op | cf/torch (range) |")
print("|---|---:|---:|---:|---|")
for (model, batch, threads), side in runs.items():
    if model != "autograd" or not side["cf"] or not side["torch"]:
        continue
    cf, torch = side["cf"], side["torch"]
    r = ratios(cf, torch, "us_per_op")
    print(f"| forward + backward | {threads} | {med(cf, 'us_per_op'):.2f} | {med(torch, 'us_per_op'):.2f} "
          f"| **{statistics.median(r):.2f}x** ({min(r):.2f}-{max(r):.2f}) |")
base = [float(r["rss_base_mb"]) for side in runs.values() for r in side["torch"] if "rss_base_mb" in r]
if base:
    print(f"\nPyTorch's resident size after `import torch`, before the model: {statistics.median(base):.0f} MB "
          "(included in its peak RSS).")
EOF
echo "elapsed: $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
