#!/bin/bash
# usage (on the device, from the repository root, carrying .whl/ and the data):
#   bash bench/gpu_recipe_search.sh DATA "name k=v ..." ... ; results -> $OUT/results.jsonl, progress -> $OUT/progress.log
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
nvidia-smi --query-gpu=name,memory.used --format=csv > $OUT/gpu.txt
data=$1; shift
for spec in "$@"; do
  timeout ${LIMIT:-540} python3 bench/gpu_recipe_search.py $data $spec >> $OUT/results.jsonl 2>> $OUT/progress.log &
done
wait
nvidia-smi --query-gpu=name,memory.used --format=csv >> $OUT/gpu.txt
grep -v "epoch" $OUT/progress.log | grep -i -E "error|Traceback" | head -5
cat $OUT/results.jsonl
