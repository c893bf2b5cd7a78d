"""Parts of a text to train on: `data.only` keeps, `data.exclude` drops, by regex (every match) or by a character
range [start, end), e.g. one speaker's speeches held out of pre-training and then fine-tuned on."""
import re

from genlab.errors import ConfigError, DataError


def selected_spans(text: str, spec, key: str) -> list[tuple[int, int]]:
    """(start, end) of the characters `spec` selects: every match of a regex, or one [start, end) range."""
    if isinstance(spec, str):
        try:
            pattern = re.compile(spec)
        except re.error as error:
            raise ConfigError(f"{key}={spec!r} is not a valid regular expression ({error})") from None
        return [match.span() for match in pattern.finditer(text) if match.end() > match.start()]
    if (isinstance(spec, (list, tuple)) and len(spec) == 2
            and all(isinstance(bound, int) and not isinstance(bound, bool) for bound in spec) and 0 <= spec[0] < spec[1]):
        return [(spec[0], min(spec[1], len(text)))]
    raise ConfigError(f"{key} must be a regular expression or a character range [start, end), got {spec!r}")


def select_text(text: str, only=None, exclude=None, source: str = "the text") -> str:
    """`text` reduced to what `only` selects, less what `exclude` selects; DataError when nothing is left."""
    if only is not None:
        text = "".join(text[start:end] for start, end in selected_spans(text, only, "data.only"))
        if not text:
            raise DataError(f"data.only={only!r} selects no text of {source}")
    if exclude is not None:
        kept, position = [], 0
        for start, end in selected_spans(text, exclude, "data.exclude"):
            kept.append(text[position:start])
            position = end
        text = "".join(kept) + text[position:]
        if not text:
            raise DataError(f"data.exclude={exclude!r} leaves no text of {source}")
    return text
