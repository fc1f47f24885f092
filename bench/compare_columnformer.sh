#!/usr/bin/env bash
# The untied Columnformer block (64 columns, D 128, 4 heads, MLP ratio 2,
# every Linear and LayerNorm untied) in cf and in PyTorch with torch.einsum,
# same shapes and parameter count, forward + backward + AdamW: the two
# programs run alternately, one process per measurement, `pairs` times per
# thread count; then the median images/s of each side and the median of the
# per-pair ratios cf / PyTorch (docs/COLUMNFORMER.md, Performance).
#
#   bench/compare_columnformer.sh [--pairs P] [--threads "1 2"] [--batch B]
#                                 [--runs R] [--steps S] [--build DIR]
#
# PyTorch runs with /usr/bin/python3 (or $TORCH_PYTHON) and
# torch.set_num_threads(T), with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
# removed from its environment so that OpenBLAS picks its own kernels; cf
# runs with its environment as it is and set_num_threads(T).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
python=${TORCH_PYTHON:-/usr/bin/python3}
build="$root/build-col"
pairs=5 thread_counts="1 2" batch=128 runs=5 steps=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pairs) pairs=$2; shift ;;
    --threads) thread_counts=$2; shift ;;
    --batch) batch=$2; shift ;;
    --runs) runs=$2; shift ;;
    --steps) steps=$2; shift ;;
    --build) build=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "compare_columnformer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
bench="$build/bench/bench_columnformer"
if [[ ! -x "$bench" ]]; then
  echo "compare_columnformer.sh: $bench not found; build it with" >&2
  echo "  cmake -S . -B build-col -DCMAKE_BUILD_TYPE=Release && cmake --build build-col -j2 --target bench_columnformer" >&2
  exit 1
fi

echo "untied Columnformer block, cf against PyTorch, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "PyTorch side: OPENBLAS_CORETYPE (was '${OPENBLAS_CORETYPE-}') and OPENBLAS_L2_SIZE (was '${OPENBLAS_L2_SIZE-}') unset"
echo "batch $batch; each measurement the median of $runs runs of $steps steps; $pairs pairs, alternating which side goes first"

# Prints the images/s of one line "threads T  batch B  images/s X ...".
rate() { sed -n 's/.*images\/s \([0-9.]*\) .*/\1/p'; }
run_cf() { "$bench" block --threads "$1" --batch "$batch" --runs "$runs" --steps "$steps"; }
run_torch() {
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$root/bench/bench_columnformer_torch.py" \
    --threads "$1" --batch "$batch" --runs "$runs" --steps "$steps"
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

summary=()
for threads in $thread_counts; do
  cf_rates=() torch_rates=() ratios=()
  for ((pair = 1; pair <= pairs; ++pair)); do
    if ((pair % 2)); then
      cf_out=$(run_cf "$threads"); torch_out=$(run_torch "$threads")
    else
      torch_out=$(run_torch "$threads"); cf_out=$(run_cf "$threads")
    fi
    if ((pair == 1)); then
      echo "$cf_out" | head -1
      echo "$torch_out" | head -1
    fi
    c=$(echo "$cf_out" | rate) t=$(echo "$torch_out" | rate)
    cf_rates+=("$c") torch_rates+=("$t") ratios+=("$(awk -v c="$c" -v t="$t" 'BEGIN { printf "%.3f", c / t }')")
    echo "threads $threads pair $pair: cf $c, PyTorch $t images/s, ratio ${ratios[-1]}"
  done
  summary+=("$(printf '%-8s %12s %14s %14s' "$threads" \
    "$(printf '%s\n' "${cf_rates[@]}" | median)" "$(printf '%s\n' "${torch_rates[@]}" | median)" \
    "$(printf '%s\n' "${ratios[@]}" | median)")")
done
echo
printf '%-8s %12s %14s %14s\n' threads "cf img/s" "PyTorch img/s" "cf / PyTorch"
printf '%s\n' "${summary[@]}"
echo "(medians over $pairs pairs; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
