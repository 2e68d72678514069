#!/bin/bash
# eval_instructions.sh PLAYBOOKS EVENTS [PYTHON]: the instructions a run executes (callgrind),
# the whole run and the part inside CPython's bytecode loop (_PyEval_EvalFrameDefault), with the
# same process over the first event subtracted (imports, loading the playbooks). The bytecode
# loop's count is the one CPU time follows (bench/README.md, "a new yardstick"). Needs valgrind.
# PYTHONPATH selects the engine, as for any Python: point it at a `pip install --target` copy.
set -euo pipefail
PLAYBOOKS=$1; EVENTS=$2; PY=${3:-python}
OUT=$(mktemp -d)
unset PYTHONDONTWRITEBYTECODE; export PYTHONHASHSEED=0
head -1 "$EVENTS" > "$OUT/one.jsonl"
cat > "$OUT/run.py" <<'PY'
import sys
from playbook_engine.plugins import load_registry
from playbook_engine.loading import load_config
from playbook_engine.runner import read_source, run
registry = load_registry(entrypoints=False)
config = load_config([sys.argv[1]], registry)
run(config, read_source(registry, "jsonl", sys.argv[2]), keep_suppressed=False)
PY
"$PY" "$OUT/run.py" "$PLAYBOOKS" "$OUT/one.jsonl"  # bytecode cached first
for name in one all; do
  events=$([ $name = one ] && echo "$OUT/one.jsonl" || echo "$EVENTS")
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$name.out" "$PY" "$OUT/run.py" "$PLAYBOOKS" "$events" 2>/dev/null
done
count() { callgrind_annotate --threshold=100 --inclusive=no "$1" | sed 's/,//g' | awk '/PROGRAM TOTALS/{t=$1} /_PyEval_EvalFrameDefault/{e+=$1} END{printf "%.0f %.0f\n", t, e}'; }
read -r t1 e1 < <(count "$OUT/one.out"); read -r t2 e2 < <(count "$OUT/all.out")
echo "the run: $((t2 - t1)) instructions, $((e2 - e1)) in the bytecode loop"
rm -rf "$OUT"
