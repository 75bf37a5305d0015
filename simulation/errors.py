"""The one error type users see: a one-line message, no traceback."""


class HourglassError(Exception):
    """Bad input or a refused operation, explained in one line.

    The command line prints ``str(error)`` and exits with status 2. Messages name the
    file (or source), the field, and what is allowed.
    """
