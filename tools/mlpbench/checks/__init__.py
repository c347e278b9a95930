"""Helpers of the C++ tests and fuzzers: distributed checks, the reduction benchmark check, fuzz seeds."""
