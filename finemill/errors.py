"""Errors that the CLI reports as one line, without a traceback."""


class FinemillError(Exception):
    """A user-facing error: bad input, bad config, missing file. The CLI prints it and exits 2."""
