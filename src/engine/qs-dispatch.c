/* qs-dispatch.c: the one place that picks kernels for the CPU at run time.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The float32 path uses AVX2+FMA where available (it is the baseline the
 * integer path is compared with, so it should be a fair one), AVX-512F
 * where the integer path uses AVX-512 (VNNI implies it); the integer
 * path uses AVX-512 VNNI (vpdpbusd: four u8*s8 products summed into int32
 * with no intermediate saturation), else AVX2 (exact: operands widened to
 * int16 and multiplied with vpmaddwd), else the scalar reference. The
 * depthwise kernel on VNNI machines puts two taps in each vpdpwssd lane
 * (its taps are not contiguous in memory); a 3x3 window with stride 1
 * and int8-range weights takes vpdpbusd on one shuffled vector of four
 * input rows per column, shared by two output rows, where the CPU has
 * VBMI. Both store codes, requantized in registers. A convolution of a
 * one-channel image (the first layer on grey images) skips im2col on VNNI
 * machines: a direct kernel puts one window row in each vpdpbusd group.
 * The group-wise kernels (integer groups, block formats) take the same
 * steps: vpdpbusd per quad of a group and vpdpwssd per depthwise tap on
 * VNNI, vpmaddwd / vpmulld on AVX2.
 * The graph's table lookups, merges and rescaling (qs-graph-kernels.h)
 * follow the same ISA; on AVX-512 the lookups use VBMI's vpermi2b only
 * where the CPU has it (VNNI does not imply it), else AVX2's vpshufb.
 * Where the CPU has AMX-INT8 and Linux grants the process the tile state,
 * the plain and requantizing GEMMs (1x1 and im2col convolutions, Dense,
 * and there the convolutions VNNI reads in place) take tdpbusd on VNNI's
 * packing; everything else is VNNI's.
 */
#include "kernels/qs-kernels.h"
#include "kernels/qs-graph-kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(QS_ENGINE_AMX_KERNELS) && defined(__linux__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

static atomic_int forced_isa = -1;

static const QsKernels scalar_kernels = {
  .isa = QS_ISA_SCALAR,
  .name = "scalar",
  .gemm_packed_size = qs_gemm_u8s8_packed_size_scalar,
  .gemm_pack = qs_gemm_u8s8_pack_scalar,
  .gemm = qs_gemm_u8s8_scalar,
  .requant = qs_requantize_u8_scalar,
  .depthwise_packed_size = qs_depthwise_u8s8_packed_size_scalar,
  .depthwise_pack = qs_depthwise_u8s8_pack_scalar,
  .depthwise = qs_depthwise_u8s8_scalar,
  .gemm_f32_packed_size = qs_gemm_f32_packed_size_scalar,
  .gemm_f32_pack = qs_gemm_f32_pack_scalar,
  .gemm_f32 = qs_gemm_f32_scalar,
  .depthwise_f32 = qs_depthwise_f32_scalar,
  .gemm16 = qs_gemm_u8s16_scalar,
  .gemm_f32_unpack = qs_gemm_f32_unpack_scalar,
  .gemm_f32_pack_rows = qs_gemm_f32_pack_rows_scalar,
  .gemm_f32_round_columns = qs_gemm_f32_round_columns_scalar,
  .quantize_real = qs_quantize_real_u8_scalar,
  .dequantize = qs_dequantize_u8_scalar,
  .depthwise_requant = qs_depthwise_requant_u8s8_scalar,
  .gemm_f32_skip_zeros = qs_gemm_f32_skip_zeros_scalar,
};

#ifdef QS_ENGINE_X86_KERNELS
static const QsKernels avx2_kernels = {
  .isa = QS_ISA_AVX2,
  .name = "avx2",
  .gemm_packed_size = qs_gemm_u8s8_packed_size_avx2,
  .gemm_pack = qs_gemm_u8s8_pack_avx2,
  .gemm = qs_gemm_u8s8_avx2,
  .requant = qs_requantize_u8_avx2,
  .depthwise_packed_size = qs_depthwise_u8s8_packed_size_avx2,
  .depthwise_pack = qs_depthwise_u8s8_pack_avx2,
  .depthwise = qs_depthwise_u8s8_avx2,
  .gemm_f32_packed_size = qs_gemm_f32_packed_size_avx2,
  .gemm_f32_pack = qs_gemm_f32_pack_avx2,
  .gemm_f32 = qs_gemm_f32_avx2,
  .depthwise_f32 = qs_depthwise_f32_avx2,
  .gemm16 = qs_gemm_u8s16_avx2,
  .gemm_f32_unpack = qs_gemm_f32_unpack_avx2,
  .gemm_f32_panel = 16,
  .gemm_f32_pack_rows = qs_gemm_f32_pack_rows_avx2,
  .gemm_f32_round_columns = qs_gemm_f32_round_columns_avx2,
  .groupwise_packed_size = qs_gemm_groupwise_packed_size_avx2,
  .groupwise_pack = qs_gemm_groupwise_pack_avx2,
  .groupwise_packed_weight = qs_gemm_groupwise_packed_weight_avx2,
  .groupwise_pack_channels = 8,
  .groupwise_gemm = qs_gemm_groupwise_u8_avx2,
  .depthwise_groupwise = qs_depthwise_groupwise_u8_avx2,
  .quantize_real = qs_quantize_real_u8_avx2,
  .dequantize = qs_dequantize_u8_scalar,
  .depthwise_requant = qs_depthwise_requant_u8s8_avx2,
};

/* What the AVX-512 VNNI and AMX tables share: AMX changes only the
 * plain and requantizing GEMMs. */
#define AVX512VNNI_COMMON_KERNELS \
  .gemm_packed_size = qs_gemm_u8s8_packed_size_avx512vnni, \
  .gemm_pack = qs_gemm_u8s8_pack_avx512vnni, \
  .requant = qs_requantize_u8_avx512, \
  .depthwise_packed_size = qs_depthwise_u8s8_packed_size_avx512vnni, \
  .depthwise_pack = qs_depthwise_u8s8_pack_avx512vnni, \
  .depthwise = qs_depthwise_u8s8_avx512vnni, \
  .gemm_f32_packed_size = qs_gemm_f32_packed_size_avx512, \
  .gemm_f32_pack = qs_gemm_f32_pack_avx512, \
  .gemm_f32 = qs_gemm_f32_avx512, \
  .depthwise_f32 = qs_depthwise_f32_avx512, \
  .gemm16 = qs_gemm_u8s16_avx2, \
  .conv_c1_supported = qs_conv_c1_u8s8_supported_avx512vnni, \
  .conv_c1_packed_size = qs_conv_c1_u8s8_packed_size_avx512vnni, \
  .conv_c1_pack = qs_conv_c1_u8s8_pack_avx512vnni, \
  .conv_c1 = qs_conv_c1_u8s8_avx512vnni, \
  .gemm_f32_unpack = qs_gemm_f32_unpack_avx512, \
  .gemm_f32_panel = 32, \
  .gemm_f32_pack_rows = qs_gemm_f32_pack_rows_avx512, \
  .gemm_f32_round_columns = qs_gemm_f32_round_columns_avx512, \
  .groupwise_packed_size = qs_gemm_groupwise_packed_size_avx512vnni, \
  .groupwise_pack = qs_gemm_groupwise_pack_avx512vnni, \
  .groupwise_packed_weight = qs_gemm_groupwise_packed_weight_avx512vnni, \
  .groupwise_pack_channels = 16, \
  .groupwise_gemm = qs_gemm_groupwise_u8_avx512vnni, \
  .depthwise_groupwise = qs_depthwise_groupwise_u8_avx512vnni, \
  .quantize_real = qs_quantize_real_u8_avx512, \
  .dequantize = qs_dequantize_u8_avx512, \
  .depthwise_requant = qs_depthwise_requant_u8s8_avx512vnni, \
  .gemm_f32_skip_zeros = qs_gemm_f32_skip_zeros_avx512,

static const QsKernels avx512vnni_kernels = {
  .isa = QS_ISA_AVX512VNNI,
  .name = "avx512vnni",
  .gemm = qs_gemm_u8s8_avx512vnni,
  .gemm_requant = qs_gemm_requant_u8s8_avx512vnni,
  .gemm_requant_indirect = qs_gemm_requant_indirect_u8s8_avx512vnni,
  AVX512VNNI_COMMON_KERNELS
};
#endif

#ifdef QS_ENGINE_AMX_KERNELS
/* AVX-512 VNNI's table but for the plain and requantizing GEMMs. */
static const QsKernels amx_int8_kernels = {
  .isa = QS_ISA_AMX_INT8,
  .name = "amx-int8",
  .gemm = qs_gemm_u8s8_amx,
  .gemm_requant = qs_gemm_requant_u8s8_amx,
  /* NULL: convolutions copy their windows (im2col) for the tiles rather
   * than read them in place with VNNI. On ResNet18 (64 images, 2 threads)
   * 4.6 ms of CPU per image against 7.8 with VNNI's indirect GEMM. */
  .gemm_requant_indirect = NULL,
  AVX512VNNI_COMMON_KERNELS
};

/* -1 not asked yet, else whether the tiles may be used. */
static atomic_int amx_int8_usable = -1;

/* AMX-TILE and AMX-INT8 in CPUID, the tile state enabled in XCR0, and
 * Linux's permission for this process (asked once; the kernel keeps it
 * for every thread, present and future). */
static bool
amx_int8_available (void)
{
  int usable = atomic_load (&amx_int8_usable);

#ifdef __linux__
  if (usable < 0)
    {
      unsigned int eax, ebx, ecx, edx, xcr0_lo, xcr0_hi;
      enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

      usable = 0;
      if (__get_cpuid_count (7, 0, &eax, &ebx, &ecx, &edx)
          && (edx & (1u << 24)) != 0 && (edx & (1u << 25)) != 0
          && __get_cpuid (1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 27)) != 0)
        {
          /* xgetbv needs OSXSAVE (CPUID.1:ECX bit 27), checked above. */
          __asm__ volatile ("xgetbv" : "=a" (xcr0_lo), "=d" (xcr0_hi) : "c" (0));
          if ((xcr0_lo & (3u << 17)) == (3u << 17)
              && syscall (SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0)
            usable = 1;
        }
      atomic_store (&amx_int8_usable, usable);
    }
#else
  usable = 0;
#endif
  return usable == 1;
}
#endif

bool
qs_kernels_isa_supported (QsIsa isa)
{
  switch (isa)
    {
    case QS_ISA_SCALAR:
      return true;
#ifdef QS_ENGINE_X86_KERNELS
    case QS_ISA_AVX2:
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
    case QS_ISA_AVX512VNNI:
      return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")
        && __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw")
        && __builtin_cpu_supports ("avx512vl") && __builtin_cpu_supports ("avx512vnni");
#endif
#ifdef QS_ENGINE_AMX_KERNELS
    case QS_ISA_AMX_INT8:
      /* VBMI for the GEMM's stores of codes (every AMX CPU so far has it). */
      return qs_kernels_isa_supported (QS_ISA_AVX512VNNI) && __builtin_cpu_supports ("avx512vbmi")
        && amx_int8_available ();
#endif
    default:
      return false;
    }
}

void
qs_kernels_force_isa (int isa)
{
  atomic_store (&forced_isa, isa);
}

QsIsa
qs_kernels_detect_isa (void)
{
  const char *force = getenv ("QS_FORCE_SCALAR");
  const char *isa = getenv ("QS_FORCE_ISA");
  int forced = atomic_load (&forced_isa);

  if (forced >= 0 && qs_kernels_isa_supported ((QsIsa) forced))
    return (QsIsa) forced;

  if (force != NULL && strcmp (force, "1") == 0)
    return QS_ISA_SCALAR;
  if (isa != NULL)
    {
      if (strcmp (isa, "scalar") == 0)
        return QS_ISA_SCALAR;
      if (strcmp (isa, "avx2") == 0 && qs_kernels_isa_supported (QS_ISA_AVX2))
        return QS_ISA_AVX2;
      if (strcmp (isa, "avx512vnni") == 0 && qs_kernels_isa_supported (QS_ISA_AVX512VNNI))
        return QS_ISA_AVX512VNNI;
      if (strcmp (isa, "amx-int8") == 0 && qs_kernels_isa_supported (QS_ISA_AMX_INT8))
        return QS_ISA_AMX_INT8;
    }
  if (qs_kernels_isa_supported (QS_ISA_AMX_INT8))
    return QS_ISA_AMX_INT8;
  if (qs_kernels_isa_supported (QS_ISA_AVX512VNNI))
    return QS_ISA_AVX512VNNI;
  if (qs_kernels_isa_supported (QS_ISA_AVX2))
    return QS_ISA_AVX2;
  return QS_ISA_SCALAR;
}

const QsKernels *
qs_kernels_get (QsIsa isa)
{
#ifdef QS_ENGINE_AMX_KERNELS
  if (isa == QS_ISA_AMX_INT8 && qs_kernels_isa_supported (isa))
    return &amx_int8_kernels;
#endif
#ifdef QS_ENGINE_X86_KERNELS
  if (isa == QS_ISA_AVX512VNNI && qs_kernels_isa_supported (isa))
    return &avx512vnni_kernels;
  if (isa == QS_ISA_AVX2 && qs_kernels_isa_supported (isa))
    return &avx2_kernels;
#endif
  return &scalar_kernels;
}

/* ---- the graph's kernels beside the GEMMs ---------------------------------------- */

static const QsGraphKernels scalar_graph_kernels = {
  .lut = qs_lut_u8_scalar,
  .add = qs_add_u8_scalar,
  .mul = qs_mul_u8_scalar,
  .rescale = qs_rescale_u8_scalar,
  .range = qs_range_f32_scalar,
  .clamp = qs_clamp_u8_scalar,
};

#ifdef QS_ENGINE_X86_KERNELS
static const QsGraphKernels avx2_graph_kernels = {
  .lut = qs_lut_u8_avx2,
  .add = qs_add_u8_avx2,
  .mul = qs_mul_u8_avx2,
  .rescale = qs_rescale_u8_avx2,
  .range = qs_range_f32_avx2,
  .clamp = qs_clamp_u8_avx2,
};

/* Where AVX-512 lacks VBMI (Cascade Lake), table lookups take AVX2's
 * vpshufb kernel. */
static const QsGraphKernels avx512_graph_kernels = {
  .lut = qs_lut_u8_avx2,
  .add = qs_add_u8_avx512,
  .mul = qs_mul_u8_avx512,
  .rescale = qs_rescale_u8_avx512,
  .range = qs_range_f32_avx512,
  .clamp = qs_clamp_u8_avx512,
};

/* The AVX-512 table with VBMI's 256-byte table lookups (activations, and
 * the terms of an Add's inputs). */
static const QsGraphKernels avx512vbmi_graph_kernels = {
  .lut = qs_lut_u8_avx512vbmi,
  .add = qs_add_u8_avx512vbmi,
  .mul = qs_mul_u8_avx512,
  .rescale = qs_rescale_u8_avx512,
  .range = qs_range_f32_avx512,
  .clamp = qs_clamp_u8_avx512,
};
#endif

const QsGraphKernels *
qs_graph_kernels_get (QsIsa isa)
{
#ifdef QS_ENGINE_X86_KERNELS
  /* AMX's table differs from VNNI's in its GEMMs only. */
  if (isa == QS_ISA_AMX_INT8)
    isa = QS_ISA_AVX512VNNI;
  if (isa == QS_ISA_AVX512VNNI && qs_kernels_isa_supported (isa))
    return __builtin_cpu_supports ("avx512vbmi") ? &avx512vbmi_graph_kernels
                                                 : &avx512_graph_kernels;
  if (isa == QS_ISA_AVX2 && qs_kernels_isa_supported (isa))
    return &avx2_graph_kernels;
#endif
  return &scalar_graph_kernels;
}
