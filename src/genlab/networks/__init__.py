"""Pure torch networks (no Lightning): shared by the LightningModules, benchmarks and samplers."""
