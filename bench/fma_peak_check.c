// Cross-check of the FMA peak without Highway: N independent vfmadd231ps zmm chains.
// gcc -O2 -mavx512f -mfma bench/fma_peak_check.c -o /tmp/fma_peak_check && /tmp/fma_peak_check
// (edit N: 8 and 24 chains both give 117 GFLOP/s on this host, see PERF.md)
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define N 24
int main(){ volatile float mv=0.9999999f, av=1e-7f; __m512 m=_mm512_set1_ps(mv), a=_mm512_set1_ps(av);
 __m512 acc[N]; for(int i=0;i<N;i++) acc[i]=_mm512_set1_ps(1+i*1e-3f);
 long iters=20000000; double t0=now();
 for(long it=0;it<iters;it++){
#pragma GCC unroll 24
  for(int i=0;i<N;i++) acc[i]=_mm512_fmadd_ps(acc[i],m,a);}
 double t=now()-t0; __m512 s=acc[0]; for(int i=1;i<N;i++) s=_mm512_add_ps(s,acc[i]);
 float out[16]; _mm512_storeu_ps(out,s);
 printf("%d chains: %.1f GFLOP/s (%f)\n",N, 2.0*16*N*iters/t/1e9, out[0]);}
