"""LightningModules: training logic around the pure networks in `genlab.networks`."""
