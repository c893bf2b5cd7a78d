"""The protocol a sample-quality number is measured under (feature net and weights, sample counts, reference split,
image size and resizing): two FIDs compare only when their protocols match. No torch: genlab-compare reads it."""
PROTOCOL_FIELDS = ("feature_net", "weights_sha256", "real_samples", "fake_samples", "reference_split", "image_size",
                   "resize")
SAMPLE_QUALITY_METRICS = ("fid", "fid_at_start", "kid_mean", "kid_std", "is_mean", "is_std", "precision", "recall",
                          "density", "coverage", "class_min_frac", "class_max_frac")


def measurement_protocol(feature_net: str, weights_sha256: str, real_samples: int, fake_samples: int, split: str,
                         image_shape: tuple[int, ...], resize: str) -> dict:
    """One split's protocol as stored in run_info.json (`metrics_protocol.<split>`) and logged as hyperparameters."""
    height, width = image_shape[-2:]
    return {"feature_net": feature_net, "weights_sha256": weights_sha256, "real_samples": int(real_samples),
            "fake_samples": int(fake_samples), "reference_split": split, "image_size": f"{height}x{width}",
            "resize": resize}


def protocol_hyperparams(split: str, protocol: dict) -> dict:
    """`metrics/protocol/<split>/<field>`: the flat names loggers show beside the run's other hyperparameters."""
    return {f"metrics/protocol/{split}/{field}": value for field, value in protocol.items()}


def is_sample_quality_metric(name: str) -> bool:
    """`val/fid`, `test/coverage`, ...: a number that depends on the measurement protocol."""
    return name.rsplit("/", 1)[-1] in SAMPLE_QUALITY_METRICS
