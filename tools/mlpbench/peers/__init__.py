"""The PyTorch peer and the side-by-side comparison of engine and peers (bench/peers/README.md)."""
