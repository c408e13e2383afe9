#!/usr/bin/env bash
# Side-by-side benchmark: rootstrap (cold and warm cache), mmdebstrap and debootstrap building the same suite and
# variant from the same mirror (read from the host's apt sources, or $BENCH_MIRROR), runs alternated, medians,
# ratios to each anchor and peak memory (max RSS, from GNU time). Needs root, debootstrap, mmdebstrap, time.
#
#   bash bench/run.sh [RUNS] [VARIANT...]      e.g. bash bench/run.sh 3 minbase buildd
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
variants=("${@:-minbase}")
suite=${BENCH_SUITE:-bookworm}
mirror=${BENCH_MIRROR:-$(node --import tsx -e "import('./test/support/host-mirror.ts').then(async (m) => console.log((await m.hostDebianMirror()) ?? ''))")}
[ -n "$mirror" ] || { echo "bench: no Debian mirror in the host apt sources; set BENCH_MIRROR" >&2; exit 2; }
for tool in debootstrap mmdebstrap /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y debootstrap mmdebstrap time)" >&2; exit 2; }
done
[ -x dist/cli/main.js ] || [ -f dist/cli/main.js ] || npm run build >/dev/null

work=$(mktemp -d /var/tmp/rootstrap-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
results="$work/results.tsv"
: > "$results"

measure() { # name variant command...
  local name=$1 variant=$2
  shift 2
  rm -rf "$work/target"
  if /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/log" 2>&1; then
    read -r secs kb < "$work/time"
    printf '%s\t%s\t%s\t%s\n' "$variant" "$name" "$secs" "$kb" >> "$results"
  else
    echo "bench: $name ($variant) failed; log:" >&2
    tail -5 "$work/log" >&2
    exit 1
  fi
  rm -rf "$work/target"
}

for variant in "${variants[@]}"; do
  # Fill the warm cache once, outside the measurements.
  node bin/rootstrap.js -q --variant="$variant" --cache-dir "$work/warm-cache" "$suite" "$work/target" "$mirror"
  rm -rf "$work/target"
  for i in $(seq 1 "$runs"); do
    echo "bench: $variant run $i/$runs" >&2
    measure rootstrap-cold "$variant" node bin/rootstrap.js -q --variant="$variant" --cache-dir "$work/cold-cache-$i" "$suite" "$work/target" "$mirror"
    rm -rf "$work/cold-cache-$i"
    measure rootstrap-warm "$variant" node bin/rootstrap.js -q --variant="$variant" --cache-dir "$work/warm-cache" "$suite" "$work/target" "$mirror"
    measure mmdebstrap "$variant" mmdebstrap --quiet --variant="$variant" "$suite" "$work/target" "$mirror"
    measure debootstrap "$variant" debootstrap --variant="$variant" "$suite" "$work/target" "$mirror"
  done
done

node - "$results" "$runs" <<'JS'
const [file, runs] = process.argv.slice(2);
const rows = require('fs').readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const variants = [...new Set(rows.map((r) => r[0]))];
console.log(`suite ${process.env.BENCH_SUITE ?? 'bookworm'}, ${runs} runs each, ${new Date().toISOString().slice(0, 10)}, ${require('os').cpus().length} cores`);
for (const v of variants) {
  const by = {};
  for (const [variant, name, secs, kb] of rows) if (variant === v) (by[name] ??= { s: [], kb: [] }) && by[name].s.push(+secs) && by[name].kb.push(+kb);
  const med = Object.fromEntries(Object.entries(by).map(([n, x]) => [n, { s: median(x.s), mb: Math.max(...x.kb) / 1024 }]));
  console.log(`\n${v}:`);
  console.log('tool            median s   peak MB   ×mmdebstrap  ×debootstrap');
  for (const [n, x] of Object.entries(med)) {
    const r = (a) => (med[a] ? (x.s / med[a].s).toFixed(2) : '-');
    console.log(`${n.padEnd(15)} ${x.s.toFixed(2).padStart(8)} ${x.mb.toFixed(0).padStart(9)} ${r('mmdebstrap').padStart(12)} ${r('debootstrap').padStart(13)}`);
  }
}
JS
