"""GraphFlow: graph-based investigation of network flow data.

The library API; the ``graphflow`` command line and the web UI are thin layers over it.
"""

from __future__ import annotations

from graphflow.config import Config, Thresholds, load_config
from graphflow.errors import GraphFlowError, InputFormatError, WorkspaceError
from graphflow.ingestion import FileReport, IngestReport, ingest_files
from graphflow.schema import EDGE_SCHEMA, FLOW_SCHEMA
from graphflow.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "EDGE_SCHEMA",
    "FLOW_SCHEMA",
    "Config",
    "FileReport",
    "GraphFlowError",
    "IngestReport",
    "InputFormatError",
    "Thresholds",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "ingest_files",
    "load_config",
]
