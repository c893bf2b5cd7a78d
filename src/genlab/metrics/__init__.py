"""Sample-quality metrics (FID/KID/IS through torchmetrics) and the feature nets they run on."""
