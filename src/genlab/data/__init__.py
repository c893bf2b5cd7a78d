"""Datasets as LightningDataModules: in-memory labelled images scaled to [-1, 1]."""
