#!/usr/bin/env bash
# On a machine with a CUDA GPU: the CUDA parity tests, each tier's measured error on CUDA,
# and the GPU benchmark (CPU and CUDA twins at batch 128 and 4096), as tables at the end.
# Uses the machine's own torch, numpy, scikit-learn, pytest, tqdm and hypothesis, with no
# install step and no network: installed, the project is one import name, `twinmlp`, whose
# subpackages `shared`, `numpy_impl` and `torch_impl` are the top-level folders here, so a
# throw-away folder of symbolic links lays the checkout out that way for PYTHONPATH.
#
#     bash scripts/gpu_check.sh            (exit code: that of the CUDA tests)
set -uo pipefail
cd "$(dirname "$0")/.."
SITE=$(mktemp -d)
mkdir "$SITE/twinmlp"
ln -s "$PWD"/twinmlp/* "$SITE/twinmlp/"
for folder in shared numpy_impl torch_impl; do ln -s "$PWD/$folder" "$SITE/twinmlp/$folder"; done
# $SITE first, so that `twinmlp` is the linked tree; the checkout after it for `tests`.
# (-P below: python must not put the working folder, with its bare twinmlp/, first.)
export PYTHONPATH="$SITE:$PWD" PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

"$PY" - <<'PYEOF' || exit 2
import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_check: torch finds no CUDA GPU here; nothing to check")
print(f"gpu_check on {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, python {sys.version.split()[0]}")
PYEOF

echo "== CUDA parity tests (pytest -m cuda)"
"$PY" -P -m pytest -q -m cuda -p no:cacheprovider --import-mode=append tests/ 2>&1 | tee /tmp/gpu_check_pytest.log
tests_rc=${PIPESTATUS[0]}

echo "== measured error of each tier on CUDA"
"$PY" -P scripts/tier_errors.py --device cuda | tee /tmp/gpu_check_tiers.log

echo "== GPU benchmark (twinmlp bench)"
"$PY" -P -m twinmlp bench --devices cpu,cuda --batch-sizes 128,4096 --repeats 5 \
    --out "${OUT:-/tmp}/gpu_bench" --quiet | tee /tmp/gpu_check_bench.log
bench_rc=${PIPESTATUS[0]}

echo
echo "== summary"
tail -n 1 /tmp/gpu_check_pytest.log
cat /tmp/gpu_check_tiers.log
grep -E "^machine|peak|^\| (implementation|floor|numpy_impl|torch_impl|torch-autograd|twin)" /tmp/gpu_check_bench.log
[ "$bench_rc" -eq 0 ] || echo "gpu_check: the benchmark failed (exit $bench_rc)"
exit "$tests_rc"
