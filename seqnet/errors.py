"""The one exception type for problems in what a user gave seqnet: data, files, config values or
arguments. Its message names the problem and the fix. The commands print it alone and exit with
status 2 (`SEQNET_DEBUG=1` shows the traceback); any other exception is a bug and keeps its
traceback. It is a `ValueError`, so `except ValueError` still catches it."""


class InputError(ValueError):
    """Bad input: the message says what is wrong and how to fix it."""


def cause_of(error: BaseException | None, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of `kinds` in `error`'s chain of causes (`raise ... from`), or None:
    bad input that a library (Hydra, torch's exporters) wrapped in an error of its own."""
    while error is not None:
        if isinstance(error, kinds):
            return error
        error = error.__cause__
    return None
