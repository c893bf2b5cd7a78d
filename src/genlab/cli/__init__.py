"""Command-line plumbing shared by genlab-train/eval/sample."""
