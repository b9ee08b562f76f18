#!/usr/bin/env bash
# Device check: can ND4J 1.0.0-M2.1's CUDA 11.6 kernels run on this GPU? Controls built here with nvcc.
# Run from the repository root on the GPU machine, after `submit/cuda-arch-check --save-containers .devcheck` on a
# machine with the natives jar (.devcheck then holds two of ND4J's kernel containers, 0.7 MB, instead of the 600 MB jar).
# (.devcheck/ is git-ignored; the device tool carries it when named in its carry list.)
# Output of its run on an H200 (2026-12-04): bench/results/2026-12-04-h200-nd4j-arch-check.txt.
set -u
nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv
echo "java: $(command -v java || echo none)  mvn: $(command -v mvn || echo none)  nvcc: $(nvcc --version | tail -n 2 | head -n 1)"
echo "== ND4J's own kernel containers (cut from libnd4jcuda.so) =="
python3 submit/cuda-arch-check --fatbin .devcheck/nd4j_kernels_*.fatbin; echo "exit $?"
cd /tmp && cat > k.cu <<'CU'
#include <cstdio>
__global__ void add(float *x) { x[threadIdx.x] += 1.0f; }
int main() { float *x; cudaMalloc(&x, 128); add<<<1, 32>>>(x); cudaError_t e = cudaDeviceSynchronize();
  printf("launch: %s\n", cudaGetErrorString(e == cudaSuccess ? cudaGetLastError() : e)); return 0; }
CU
for g in "arch=compute_86,code=sm_86" "arch=compute_86,code=compute_86" "arch=compute_90,code=sm_90"; do
  nvcc -gencode "$g" -o k k.cu 2>&1 | grep -v Warning | head -3
  echo "== control built with -gencode $g =="
  ./k
  python3 "$OLDPWD/submit/cuda-arch-check" --library k; echo "exit $?"
done
