"""Errors meant for the user: one line, no traceback (the app adds one with --verbose). Every command catches
`UserError` and prints its message as is; anything else is a bug and is shown with its class name."""
from __future__ import annotations


class UserError(Exception):
    """An error whose message is one line written for the user."""


class ConfigError(UserError, ValueError):
    """The configuration cannot be used; one line for the user."""


class SourceError(UserError, RuntimeError):
    """A source cannot be opened or read; the message is one line meant for the user."""


class SourceLost(SourceError):
    """A live source stopped delivering frames after it had delivered some (camera unplugged)."""


class ExportError(UserError, RuntimeError):
    """An output cannot be written; the message is one line meant for the user."""


class WeightsMissing(UserError, RuntimeError):
    """A model file is absent; the message is one line naming the file and the command that fetches it."""


class WeightsError(UserError, RuntimeError):
    """A file could not be had or failed verification."""


class SampleMissing(UserError, RuntimeError):
    """A sample is not available; the message is one line naming the command that fetches it."""


class ViewerUnavailable(UserError, RuntimeError):
    """The 3D viewer (Open3D) cannot be used here."""
