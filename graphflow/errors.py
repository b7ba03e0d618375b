"""GraphFlow's exceptions.

Hierarchy::

    GraphFlowError                  base: anything a user can act on
    ├── InputFormatError            a file (or a line of it) is not in the expected format
    ├── WorkspaceError              the workspace is missing, locked or damaged
    ├── StoreUnavailable            a backend (e.g. Neo4j) cannot be reached
    ├── UnknownAnalysis             no analysis is registered under that name
    └── ConfigError                 a configuration key has a bad value

The CLI catches ``GraphFlowError`` only and shows its message on one line (exit 1);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GraphFlowError",
    "InputFormatError",
    "StoreUnavailable",
    "UnknownAnalysis",
    "WorkspaceError",
]


class GraphFlowError(Exception):
    """Base class of every error a user can act on."""


class InputFormatError(GraphFlowError):
    """A file or one of its lines is not in the expected format.

    >>> str(InputFormatError("conn.log", 1432, "expected 21 tab-separated fields, got 19"))
    'conn.log:1432: expected 21 tab-separated fields, got 19'
    >>> str(InputFormatError("x.bin", None, "not a Zeek conn.log"))
    'x.bin: not a Zeek conn.log'
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")


class WorkspaceError(GraphFlowError):
    """The workspace cannot be used as asked (missing, locked, damaged)."""


class StoreUnavailable(GraphFlowError):
    """A storage backend cannot be reached."""


class UnknownAnalysis(GraphFlowError):
    """No analysis is registered under the requested name."""


class ConfigError(GraphFlowError):
    """A configuration value is invalid; the message names the key."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        super().__init__(f"config {key}: {reason}")
