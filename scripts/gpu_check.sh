#!/usr/bin/env bash
# On a machine with a CUDA GPU: the CUDA parity tests, each tier's measured error on CUDA,
# and the GPU benchmark (CPU and CUDA twins at batch 128 and 4096), as tables at the end. Uses the machine's own torch, numpy, scikit-learn, pytest,
# tqdm and hypothesis via PYTHONPATH=. — no install step, no network.
#
#     bash scripts/gpu_check.sh            (exit code: that of the CUDA tests)
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=. PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

"$PY" - <<'PYEOF' || exit 2
import sys, torch
if not torch.cuda.is_available():
    sys.exit("gpu_check: torch finds no CUDA GPU here; nothing to check")
print(f"gpu_check on {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, python {sys.version.split()[0]}")
PYEOF

echo "== CUDA parity tests (pytest -m cuda)"
"$PY" -m pytest -q -m cuda -p no:cacheprovider tests/ 2>&1 | tee /tmp/gpu_check_pytest.log
tests_rc=${PIPESTATUS[0]}

echo "== measured error of each tier on CUDA"
"$PY" scripts/tier_errors.py --device cuda | tee /tmp/gpu_check_tiers.log

echo "== GPU benchmark (twinmlp bench)"
"$PY" -m twinmlp bench --devices cpu,cuda --batch-sizes 128,4096 --repeats 5 \
    --out "${OUT:-/tmp}/gpu_bench" --quiet | tee /tmp/gpu_check_bench.log
bench_rc=${PIPESTATUS[0]}

echo
echo "== summary"
tail -n 1 /tmp/gpu_check_pytest.log
cat /tmp/gpu_check_tiers.log
grep -E "peak|^\| (implementation|numpy_impl|torch_impl|torch-autograd)" /tmp/gpu_check_bench.log
[ "$bench_rc" -eq 0 ] || echo "gpu_check: the benchmark failed (exit $bench_rc)"
exit "$tests_rc"
