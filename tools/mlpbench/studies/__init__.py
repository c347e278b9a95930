"""Studies that run the engine many times: threads/SIMD/shards, ranks, epoch A/B, alpha-beta."""
