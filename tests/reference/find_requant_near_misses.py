#!/usr/bin/python3
# find_requant_near_misses.py: sums whose float32 requantization lands just below a code step.
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Emulates, in exact rationals, the AVX-512 float path of
# src/engine/kernels/qs-requantize-avx512.h (z = fma (float (x), float (M *
# 2^-(31+s)), float (512.5 + zp +- 2^-(s+1))), clamped; code = floor (z) - 512)
# against TFLite's rules (SRDHM then RoundingDivideByPOT) and prints
# "shift multiplier zero_point x" for sums where the float code is wrong
# and z's fraction is within one unit (2^-14) *below* an integer. The
# kernels must hand those to their exact path; the near-step test guards
# both sides of an integer, and these cases fail any test that guards only
# above it. /kernels/requantize-near-misses holds the printed cases.
import random
from fractions import Fraction as F


def rne32(q):
    """q rounded to float32, ties to even (normal range only)."""
    if q == 0:
        return F(0)
    sign, a = (-1 if q < 0 else 1), abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    while F(2) ** e > a:
        e -= 1
    while F(2) ** (e + 1) <= a:
        e += 1
    n = a / F(2) ** (e - 23)
    fl = n.numerator // n.denominator
    rem = n - fl
    if rem > F(1, 2) or (rem == F(1, 2) and fl % 2 == 1):
        fl += 1
    return sign * fl * F(2) ** (e - 23)


def reference(x, m, s, zp):
    ab = x * m
    t = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    q = abs(t) // (1 << 31) * (1 if t >= 0 else -1)
    if s > 0:
        mask = (1 << s) - 1
        q = (q >> s) + (1 if (q & mask) > (mask >> 1) + (1 if q < 0 else 0) else 0)
    return min(max(q + zp, 0), 255)


def main():
    random.seed(1)
    unit = F(1, 2 ** 14)
    # Four with zero point 0 (the kernels' path for act_min >= zero point)
    # and four above it (the path with the sign term).
    printed = {True: 0, False: 0}
    while min(printed.values()) < 4:
        s = 14
        m = random.randrange(1 << 30, 1 << 31)
        zp = random.choice([0, 0, random.randrange(0, 255)])
        j = random.randrange(1, 256 - zp)
        h = F(1, 2 ** (s + 1))
        x0 = int((j - F(1, 2) - h) * 2 ** (31 + s) / m)
        scale = rne32(F(m, 2 ** (31 + s)))
        for x in range(x0 - 2, x0 + 3):
            add = rne32(F(1025, 2) + zp + (h if x >= 0 else -h))
            z = min(max(rne32(rne32(F(x)) * scale + add), F(1025, 2)), F(1025, 2) + 255)
            floor = z.numerator // z.denominator
            if (floor - 512 != reference(x, m, s, zp) and z - floor >= 1 - unit
                    and printed[zp == 0] < 4):
                print(s, m, zp, x)
                printed[zp == 0] += 1


if __name__ == "__main__":
    main()
