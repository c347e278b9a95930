// Does the divider (vsqrtps / vdivps zmm) run beside the FMA pipes? bench/PERF.md #24.
// gcc -O2 -mavx512f -mfma bench/divider_overlap_check.c -o /tmp/divider_overlap_check && /tmp/divider_overlap_check
// Each line times one loop iteration (ns) of: N independent FMAs; one square root and one divide
// (independent of each other and of the FMAs); and both together. Overlap would make the last
// the larger of the first two; on this host it is their sum or more.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define DEF(NAME,NSQ,NDIV,NFMA) \
__attribute__((noinline)) double NAME(long iters){ \
 volatile float mv=0.9999999f, av=1e-7f; __m512 m=_mm512_set1_ps(mv), a=_mm512_set1_ps(av); \
 __m512 acc[16]; for(int i=0;i<16;i++) acc[i]=_mm512_set1_ps(1+i*1e-3f); \
 __m512 s[8]; for(int i=0;i<8;i++) s[i]=_mm512_set_ps(1.2345f+i,0.31415f,7.77713f,0.000123457f,3.3311f,1.9173f,5.123123f,2.71828f,0.6931f,1.4142f,9.87654f,4.56789f,0.112358f,6.02214f,8.31446f,1.60217f); \
 __m512 sink=_mm512_setzero_ps(); \
 double t0=now(); \
 for(long it=0;it<iters;it++){ \
   _Pragma("GCC unroll 8") for(int i=0;i<NSQ;i++){ __asm__ volatile("" : "+v"(s[i])); __m512 x=_mm512_sqrt_ps(s[i]); sink=_mm512_add_ps(sink,x);} \
   _Pragma("GCC unroll 8") for(int i=0;i<NDIV;i++){ __asm__ volatile("" : "+v"(s[i])); __m512 x=_mm512_div_ps(s[i],m); sink=_mm512_add_ps(sink,x);} \
   _Pragma("GCC unroll 64") for(int i=0;i<NFMA;i++) acc[i%16]=_mm512_fmadd_ps(acc[i%16],m,a); \
 } \
 double t=now()-t0; __m512 z=sink; for(int i=0;i<16;i++) z=_mm512_add_ps(z,acc[i]); \
 float out[16]; _mm512_storeu_ps(out,z); if(out[0]==1234.5f) puts("x"); \
 return t/iters*1e9; }
DEF(f32,0,0,32) DEF(s1d1,1,1,0) DEF(s1d1f32,1,1,32) DEF(s1d1f16,1,1,16) DEF(f16,0,0,16) DEF(s1d1f48,1,1,48) DEF(f48,0,0,48)
int main(){ long it=10000000;
 for(int rep=0;rep<2;rep++){
 printf("32 fma %.2f | 1s1d %.2f | 1s1d+32fma %.2f\n",f32(it),s1d1(it),s1d1f32(it));
 printf("16 fma %.2f | 1s1d+16fma %.2f | 48 fma %.2f | 1s1d+48fma %.2f\n",f16(it),s1d1f16(it),f48(it),s1d1f48(it));}
}
