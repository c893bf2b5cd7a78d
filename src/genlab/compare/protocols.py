"""Sample-quality numbers rank runs only when measured alike: the first protocol field on which two runs differ."""
from genlab.compare.run_record import RunRecord
from genlab.metrics.protocol import PROTOCOL_FIELDS, is_sample_quality_metric

SCALAR_TYPES = (str, int, float, bool)
SHOWN_CHARACTERS = 80  # of a protocol value in the one-line error (stored files are untrusted: a value may be huge)


def split_protocol(run: RunRecord, split: str) -> dict | None:
    """The run's recorded protocol for `split`; None when it has none or it is malformed (another run's file is
    untrusted input: a protocol that is not a dict of plain values counts as unknown)."""
    protocols = run.protocols
    protocol = protocols.get(split) if isinstance(protocols, dict) else None
    if not isinstance(protocol, dict) or not all(isinstance(value, SCALAR_TYPES) for value in protocol.values()):
        return None
    return protocol


def protocol_difference(runs: list[RunRecord], metric: str) -> str | None:
    """'<field> is <a> in <run> but <b> in <run>' for the first differing protocol field among the runs that logged
    `metric` with a known protocol; None when they agree, or when `metric` does not depend on a protocol."""
    if not is_sample_quality_metric(metric) or "/" not in metric:
        return None
    split = metric.split("/", 1)[0]
    known = [(run, protocol) for run in runs if metric in run.series
             if (protocol := split_protocol(run, split)) is not None]
    for field in PROTOCOL_FIELDS:
        for (first, first_protocol), (other, other_protocol) in zip(known, known[1:]):
            if first_protocol.get(field) != other_protocol.get(field):
                return (f"{field} is {shown(first_protocol.get(field))} in {first.run_id} but "
                        f"{shown(other_protocol.get(field))} in {other.run_id}")
    return None


def shown(value) -> str:
    """The value's repr, cut to SHOWN_CHARACTERS."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."
