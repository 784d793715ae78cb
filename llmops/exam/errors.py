"""Errors a user of the exam commands can cause (missing kit, bad seed, unreadable answers file)."""

from llmops.errors import UserError


class ExamError(UserError, ValueError):
    """The kit or an input file is unusable; the message names the file and how to fix it."""
