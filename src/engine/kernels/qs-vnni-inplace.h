/* qs-vnni-inplace.h: AVX-512 VNNI dot products that accumulate in place.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * GCC 12 compiles _mm512_dpbusd_epi32 and _mm512_dpwssd_epi32 in a loop
 * with a copy of the accumulator to another register and back at every
 * call (two extra instructions per product, and a spill once registers run
 * short); these forms tie the accumulator to the instruction's destination.
 * Same instructions, same exact sums. Include only from files built with
 * -mavx512vnni.
 */
#pragma once

#include <immintrin.h>

/* acc + the four u8 * s8 products of each int32 lane of @a (unsigned) and @w. */
static inline __m512i
qs_dpbusd_inplace (__m512i acc,
                   __m512i a,
                   __m512i w)
{
  __asm__ ("vpdpbusd %2, %1, %0" : "+v" (acc) : "v" (a), "vm" (w));
  return acc;
}

/* acc + the two s16 * s16 products of each int32 lane of @a and @w. */
static inline __m512i
qs_dpwssd_inplace (__m512i acc,
                   __m512i a,
                   __m512i w)
{
  __asm__ ("vpdpwssd %2, %1, %0" : "+v" (acc) : "v" (a), "vm" (w));
  return acc;
}
