#!/usr/bin/env bash
# The wheels tools/gpu_check.sh installs on the GPU machine, which has torch, transformers, lightning,
# peft and torchmetrics but neither Hydra nor DeepSpeed (it reaches no package registry). Run here, from
# anywhere; it fills the repository's ignored folder .whl/ (about 5 MB) for the device call to carry.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
# CPython 3.12 on x86-64, the GPU machine's; one version of each package
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
  hydra-core==1.3.8 omegaconf==2.3.1 \
  hjson==3.1.0 pydantic==2.13.4 pydantic-core==2.46.4 annotated-types==0.7.0 typing-inspection==0.4.2 \
  typing-extensions==4.15.0
# published as source only: built here into pure-Python wheels (DeepSpeed without its compiled ops;
# ZeRO-2 with the suite's torch AdamW needs none of them)
python3 -m pip wheel -q --no-deps -w .whl antlr4-python3-runtime==4.9.3
DS_BUILD_OPS=0 python3 -m pip wheel -q --no-deps --no-build-isolation -w .whl deepspeed==0.19.8
ls -l .whl
