"""Exceptions that the CLI turns into a clear message and exit code 2.

Library code raises :class:`UserError` for anything the user can fix (a bad
path, an unknown name, a malformed file).  Internal invariants use ``assert``.
"""


class UserError(Exception):
    """A problem with the user's input: the message says what and how to fix it."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the run is recorded as ``diverged``."""
