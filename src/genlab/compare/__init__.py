"""genlab-compare: several runs side by side (table, curves, samples); imports neither torch nor lightning."""
