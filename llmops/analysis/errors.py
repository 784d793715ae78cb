"""Errors a user of the trace toolkit can cause: each message names the file, line, trace, filter or store
and says what to do. All are :class:`llmops.errors.UserError`, so the CLI prints them as one line."""

from __future__ import annotations

from llmops.errors import UserError


class TraceFileError(UserError, ValueError):
    """A trace file is missing, unreadable or holds no trace at all."""


class TraceFilterError(UserError, ValueError):
    """MLflow rejected a ``search_traces`` filter string; the message quotes MLflow's reason."""


class TraceNotFoundError(UserError, KeyError):
    """A trace id that is not in the trace set."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class EmptyTraceSetError(UserError, ValueError):
    """The trace set to analyse has no trace (an empty file, experiment or filter result)."""


class ExperimentNotFoundError(UserError, ValueError):
    """The experiment named on the command line does not exist in the tracking store."""


class StoreError(UserError, RuntimeError):
    """The tracking store cannot be read or written (missing SQLite file, unreachable server)."""
