#!/usr/bin/env bash
# tools/gpu_check.py on the GPU machine, in one command from the repository root, with .whl/ carried
# (bash tools/gpu_wheels.sh fills it here). Leaves gpu_check.md (the tables) and gpu_check.log in $OUT.
#   device run: command "bash tools/gpu_check.sh", carry [".whl"], timeout_s 600
# Arguments go on to gpu_check.py (a rerun after a failure: --skip evaluation decode qwen).
set -o pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || exit 1
export PYTHONPATH="$PWD:/tmp/site" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
out="${OUT:-/tmp}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
timeout 570 python3 tools/gpu_check.py --out "$out/gpu_check.md" "$@" 2>&1 | tee "$out/gpu_check.log"
