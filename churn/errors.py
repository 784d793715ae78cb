"""The errors a user can cause and fix. The ``churn`` command prints their message on one line and exits 1."""

from __future__ import annotations

from llmops.errors import UserError


class ChurnError(UserError):
    """A problem the user can fix (a bad option, an unknown run id); the message says what to do."""


class ChurnDataError(ChurnError):
    """The data file is missing, corrupt or not the Telco schema; the message names the file, row and column."""
