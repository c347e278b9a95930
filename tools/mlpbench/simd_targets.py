"""What a Highway SIMD target (as run logs name it, run.simd_target) does to the engine's
rounding: whether it fuses multiply-adds and how many floats a vector holds. From Highway
1.0.3's hwy/ops/set_macros-inl.h (HWY_NATIVE_FMA per target; the build defines no
HWY_DISABLE_BMI2_FMA and compiles plain C++ with -ffp-contract=off, docs/building.md)."""

# A fused multiply-add rounds once, a separate multiply and add twice.
FUSES_MULTIPLY_ADD = {
    "AVX2": True, "AVX3": True, "AVX3_DL": True, "AVX3_ZEN4": True, "AVX3_SPR": True,
    "PPC8": True, "PPC9": True, "PPC10": True, "RVV": True,
    "SVE": True, "SVE2": True, "SVE_256": True, "SVE2_128": True,
    "NEON": True,  # on 64-bit Arm (and 32-bit with VFPv4), where the engine runs
    "SSSE3": False, "SSE4": False, "EMU128": False, "SCALAR": False, "WASM": False,
    "WASM_EMU256": False,
}

# Floats per vector; None where the hardware decides (scalable vectors).
FLOAT_LANES = {
    "SCALAR": 1, "EMU128": 4, "SSSE3": 4, "SSE4": 4, "NEON": 4, "PPC8": 4, "PPC9": 4,
    "PPC10": 4, "WASM": 4, "AVX2": 8, "WASM_EMU256": 8, "SVE_256": 8, "SVE2_128": 4,
    "AVX3": 16, "AVX3_DL": 16, "AVX3_ZEN4": 16, "AVX3_SPR": 16,
}

WHY_FAMILIES_DIFFER = ("FMA and non-FMA targets differ by rounding, as expected: a fused "
                       "multiply-add rounds once, a separate multiply and add twice")
WHY_WIDTHS_DIFFER = ("their vectors hold different numbers of floats, and the softmax "
                     "cross-entropy adds a row's exponentials per lane, then across the lanes "
                     "(engine/src/kernels/softmax_xent.cc)")


def family(target):
    """'FMA', 'non-FMA', or None for a target this table does not know."""
    fuses = FUSES_MULTIPLY_ADD.get(str(target).upper())
    return None if fuses is None else ("FMA" if fuses else "non-FMA")


def lanes(target):
    return FLOAT_LANES.get(str(target).upper())
