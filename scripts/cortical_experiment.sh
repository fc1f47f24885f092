#!/usr/bin/env bash
# The Cortical Transformer robustness experiment (docs/CORTICAL.md;
# ARCHITECTURES.md 7.8; Robinson & Drenkow 2022, fig. 2): trains the baseline
# and the cortical variants on CIFAR-10 with several seeds, evaluates every
# run on CIFAR-10-C, and writes
#
#   OUT/results.csv                model, seed, corruption, severity, accuracy
#   OUT/summary.md                 clean and hardest-corruption accuracy per model,
#                                  accuracy relative to the baseline by decile
#   OUT/relative_accuracy.svg      the decile table as the paper's figure 2B
#
# Runs that finished are not repeated, so an interrupted experiment continues
# where it stopped. Not run in CI.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/cortical_experiment.sh --data DIR --corruptions DIR [options]

  --cf FILE           the cf tool (default: build/cf)
  --data DIR          CIFAR-10 folder given to `cf train --data`
  --corruptions DIR   CIFAR-10-C folder given to `cf eval --corruptions`
  --out DIR           where runs and results go (default: runs/cortical)
  --epochs N          epochs per run (default: 200, the paper's)
  --seeds "S ..."     seeds (default: "0 1 2", the paper's three)
  --models "M ..."    models (default: the paper's comparison, see below)
  --baseline NAME     the model that defines corruption difficulty
                      (default: cortical_baseline; always trained)
  --set KEY=VALUE     passed to every `cf train` (repeatable), e.g. --set dim=64
  --collect-only      only rebuild results.csv, summary.md and the figure
USAGE
}

CF=build/cf
DATA=""
CORRUPTIONS=""
OUT=runs/cortical
EPOCHS=200
SEEDS="0 1 2"
BASELINE=cortical_baseline
MODELS="cortical_macro_micro cortical_macro_micro_meso cortical_naive_4 cortical_naive_8"
SETS=()
COLLECT_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cf) CF=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --corruptions) CORRUPTIONS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    --set) SETS+=(--set "$2"); shift 2 ;;
    --collect-only) COLLECT_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "cortical_experiment.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
ALL_MODELS="$BASELINE $(echo " $MODELS " | sed "s/ $BASELINE / /g")"

if [ "$COLLECT_ONLY" = 0 ]; then
  if [ -z "$DATA" ] || [ -z "$CORRUPTIONS" ]; then usage >&2; exit 2; fi
  if [ ! -x "$CF" ]; then echo "cortical_experiment.sh: no cf tool at $CF (--cf)" >&2; exit 2; fi
  for model in $ALL_MODELS; do
    for seed in $SEEDS; do
      run="$OUT/$model/seed$seed"
      if [ ! -f "$run/trained" ]; then
        echo "== train $model, seed $seed"
        if [ -f "$run/last.safetensors" ]; then
          # Interrupted: continued where it stopped, unless every epoch was
          # logged before the interruption (cf train refuses to start over it).
          logged=0
          if [ -f "$run/log.csv" ]; then logged=$(($(wc -l < "$run/log.csv") - 1)); fi
          if [ "$logged" -lt "$EPOCHS" ]; then "$CF" train --resume "$run"; fi
        else
          # The recipe of record (ARCHITECTURES.md 7.8): AdamW, lr 5e-4, batch
          # 64, weight decay 3e-2; --set overrides it. --overwrite: a run
          # interrupted before its first checkpoint starts again.
          "$CF" train --model "$model" --data "$DATA" --epochs "$EPOCHS" --seed "$seed" \
            --out "$run" --overwrite --lr 5e-4 --batch-size 64 --weight-decay 0.03 \
            ${SETS[@]+"${SETS[@]}"}
        fi
        touch "$run/trained"
      fi
      if [ ! -f "$run/eval.txt" ]; then
        echo "== evaluate $model, seed $seed on $CORRUPTIONS"
        # cf eval prints "<model> on N test images: loss L, accuracy A%" and
        # writes one CSV row per corruption and severity to --report.
        "$CF" eval --checkpoint "$run/last.safetensors" --corruptions "$CORRUPTIONS" \
          --report "$run/robustness.csv" > "$run/eval.log"
        { echo "clean $(grep -o 'accuracy [0-9.]*%' "$run/eval.log" | head -n 1 | cut -d' ' -f2)"
          tail -n +2 "$run/robustness.csv" | cut -d, -f1-3; } > "$run/eval.tmp"
        mv "$run/eval.tmp" "$run/eval.txt"
      fi
    done
  done
fi

# results.csv from every eval.txt. A result line names a corruption, a
# severity 1..5 and ends in the accuracy (a fraction, or a percentage with or
# without %), separated by spaces, tabs, commas or colons; the clean test
# accuracy is a line starting with "clean" (severity 0 in the CSV).
echo "model,seed,corruption,severity,accuracy" > "$OUT/results.csv"
for model in $ALL_MODELS; do
  for seed in $SEEDS; do
    eval_file="$OUT/$model/seed$seed/eval.txt"
    [ -f "$eval_file" ] || { echo "cortical_experiment.sh: missing $eval_file" >&2; exit 1; }
    awk -F'[ \t,:]+' -v model="$model" -v seed="$seed" '
      function accuracy(text) { sub(/%$/, "", text); return text + 0 > 1 ? text / 100 : text + 0 }
      { sub(/^[ \t]+/, ""); last = $NF }
      last !~ /^[0-9.]+%?$/ { next }
      $1 == "clean" { print model "," seed ",clean,0," accuracy(last); next }
      NF >= 3 && $2 ~ /^[1-5]$/ && $1 ~ /^[a-z_]+$/ { print model "," seed "," $1 "," $2 "," accuracy(last) }
    ' "$eval_file" >> "$OUT/results.csv"
  done
done

# Difficulty of a corruption and severity: the baseline's mean accuracy on it
# (7.8). Deciles from easiest (1) to hardest (10); "hard": the corruptions that
# cost the baseline more than 40% of its clean accuracy.
awk -F, -v baseline="$BASELINE" -v models="$ALL_MODELS" -v out="$OUT" '
  NR == 1 { next }
  {
    key = $3 SUBSEP $4
    sum[$1, key] += $5; n[$1, key]++
    if ($3 == "clean") { clean[$1, $2] = $5 } else { cell[$1, $2, key] = $5; pairs[key] = 1 }
    seeds[$2] = 1
  }
  END {
    split(models, M, " ")
    base_clean = sum[baseline, "clean" SUBSEP 0] / n[baseline, "clean" SUBSEP 0]
    # Rank the corruption/severity pairs by baseline accuracy, easiest first.
    count = 0
    for (key in pairs) { count++; order[count] = key; acc[key] = sum[baseline, key] / n[baseline, key] }
    for (i = 2; i <= count; i++) {
      k = order[i]; j = i - 1
      while (j >= 1 && acc[order[j]] < acc[k]) { order[j + 1] = order[j]; j-- }
      order[j + 1] = k
    }
    for (i = 1; i <= count; i++) decile[order[i]] = int((i - 1) * 10 / count) + 1

    print "# Cortical Transformer on CIFAR-10-C\n" > out "/summary.md"
    print count " corruption/severity pairs; baseline `" baseline "` clean accuracy " sprintf("%.2f%%", 100 * base_clean) ".\n" >> out "/summary.md"
    print "| model | clean accuracy (mean [min, max]) | hard corruptions (mean [min, max]) |" >> out "/summary.md"
    print "| --- | --- | --- |" >> out "/summary.md"
    for (m = 1; m in M; m++) {
      lo = 2; hi = -1; total = 0; k = 0; hlo = 2; hhi = -1; htotal = 0
      for (s in seeds) {
        if (!((M[m], s) in clean)) continue
        c = clean[M[m], s]; total += c; k++; if (c < lo) lo = c; if (c > hi) hi = c
        h = 0; hn = 0
        for (key in pairs) if (acc[key] < 0.6 * base_clean) { h += cell[M[m], s, key]; hn++ }
        h = hn ? h / hn : 0; htotal += h; if (h < hlo) hlo = h; if (h > hhi) hhi = h
      }
      printf "| `%s` | %.2f%% [%.2f, %.2f] | %.2f%% [%.2f, %.2f] |\n", M[m], 100 * total / k, 100 * lo, 100 * hi,
             100 * htotal / k, 100 * hlo, 100 * hhi >> out "/summary.md"
    }
    print "\nAccuracy relative to the baseline (percentage points), by decile of corruption difficulty:\n" >> out "/summary.md"
    header = "| decile |"; rule = "| ---: |"
    for (m = 1; m in M; m++) { header = header " `" M[m] "` |"; rule = rule " ---: |" }
    print header "\n" rule >> out "/summary.md"
    lo = 0; hi = 0
    for (d = 1; d <= 10; d++) {
      line = "| " d " |"
      for (m = 1; m in M; m++) {
        r = 0; rn = 0
        for (key in pairs) if (decile[key] == d && n[M[m], key]) { r += sum[M[m], key] / n[M[m], key] - acc[key]; rn++ }
        rel[m, d] = rn ? 100 * r / rn : 0
        if (rel[m, d] < lo) lo = rel[m, d]; if (rel[m, d] > hi) hi = rel[m, d]
        line = line sprintf(" %+.2f |", rel[m, d])
      }
      print line >> out "/summary.md"
    }

    # The figure: one line per model, deciles on x, relative accuracy on y.
    svg = out "/relative_accuracy.svg"; W = 640; H = 400; L = 60; B = 50
    if (hi - lo < 1) { hi += 0.5; lo -= 0.5 }
    split("#444444 #d62728 #1f77b4 #2ca02c #ff7f0e #9467bd #8c564b #e377c2", colour, " ")
    printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H > svg
    printf "<text x=\"%d\" y=\"20\">Accuracy relative to %s (points) by corruption-difficulty decile</text>\n", L, baseline >> svg
    y0 = 30 + (H - B - 30) * hi / (hi - lo)
    printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#999\" stroke-dasharray=\"4\"/>\n", L, y0, W - 20, y0 >> svg
    for (d = 1; d <= 10; d++)
      printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", L + (d - 1) * (W - L - 20) / 9, H - B + 20, d >> svg
    printf "<text x=\"%d\" y=\"%d\">easiest &#8594; hardest</text>\n", L, H - 8 >> svg
    printf "<text x=\"5\" y=\"35\">%+.1f</text><text x=\"5\" y=\"%d\">%+.1f</text>\n", hi, H - B, lo >> svg
    for (m = 1; m in M; m++) {
      points = ""
      for (d = 1; d <= 10; d++)
        points = points sprintf("%.1f,%.1f ", L + (d - 1) * (W - L - 20) / 9, 30 + (H - B - 30) * (hi - rel[m, d]) / (hi - lo))
      printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", colour[(m - 1) % 8 + 1], points >> svg
      printf "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", W - 220, 40 + 15 * m, colour[(m - 1) % 8 + 1], M[m] >> svg
    }
    print "</svg>" >> svg
  }
' "$OUT/results.csv"
echo "results: $OUT/results.csv, $OUT/summary.md, $OUT/relative_accuracy.svg"
