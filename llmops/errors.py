"""The base of every error a user can cause and fix (bad file, unknown alias, unreachable server...).

The CLI prints such an error as one clear line and exits non-zero; anything else is a bug and keeps its
traceback.
"""


class UserError(Exception):
    """An error the user caused; its message names the file, row, field or setting and how to fix it."""
