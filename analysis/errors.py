"""The engine's one error type: a refused input or operation, explained in one line."""


class AnalysisError(Exception):
    """Bad input to the experiment engine (space, design, store, executor), in one line.

    Messages name the option or file, the key and what is allowed. The engine never imports a
    model's own error type: a model's ``check`` may raise its own, and front ends (such as the
    ``hourglass`` command line) print either kind as one line and exit with status 2.
    """


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped long work; the message says what was kept and how to go on.

    A ``KeyboardInterrupt``, so code that stops on Ctrl-C still stops; front ends print the
    message as one line.
    """
