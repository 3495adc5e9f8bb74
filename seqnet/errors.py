"""The one exception type for problems in what a user gave seqnet: data, files, config values or
arguments. Its message names the problem and the fix. The commands print it alone and exit with
status 2 (`SEQNET_DEBUG=1` shows the traceback); any other exception is a bug and keeps its
traceback. It is a `ValueError`, so `except ValueError` still catches it."""


class InputError(ValueError):
    """Bad input: the message says what is wrong and how to fix it."""
