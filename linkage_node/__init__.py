"""The agency node: where PII lives. It validates and normalises roster exports, encodes
them into CLKs under the shared linkage secret, and keeps the state that lets the next
run send only what changed. Nothing it writes for the hub holds PII.

The encoding pieces (clkhash and its schema validator) load on first use: every `pprl`
command imports this package, and most never encode.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linkage_node.errors import NodeError, RosterError, SchemaError, StateError
from linkage_node.normalise import NORMALISATION_VERSION
from linkage_node.refs import RefKey
from linkage_node.roster import (
    RULES,
    CleanRecord,
    ColumnMapping,
    Issue,
    RosterResult,
    parse_policies,
    validate_roster,
)

if TYPE_CHECKING:
    from linkage_node.encoder import Encoder, encode_all
    from linkage_node.encodings_file import EncodingsHeader, read_encodings, write_encodings
    from linkage_node.features import CANARY
    from linkage_node.job import JobResult, run_encoding_job
    from linkage_node.schema import LinkageSchema, load_schema, validate_schema

_LAZY = {
    "Encoder": "linkage_node.encoder",
    "encode_all": "linkage_node.encoder",
    "EncodingsHeader": "linkage_node.encodings_file",
    "read_encodings": "linkage_node.encodings_file",
    "write_encodings": "linkage_node.encodings_file",
    "CANARY": "linkage_node.features",
    "JobResult": "linkage_node.job",
    "run_encoding_job": "linkage_node.job",
    "LinkageSchema": "linkage_node.schema",
    "load_schema": "linkage_node.schema",
    "validate_schema": "linkage_node.schema",
}


def __getattr__(name: str) -> Any:
    """The encoding pieces, imported when first asked for (PEP 562)."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'linkage_node' has no attribute {name!r}")


__all__ = [
    "CANARY",
    "NORMALISATION_VERSION",
    "RULES",
    "CleanRecord",
    "ColumnMapping",
    "Encoder",
    "EncodingsHeader",
    "Issue",
    "JobResult",
    "LinkageSchema",
    "NodeError",
    "RefKey",
    "RosterError",
    "RosterResult",
    "SchemaError",
    "StateError",
    "encode_all",
    "load_schema",
    "parse_policies",
    "read_encodings",
    "run_encoding_job",
    "validate_roster",
    "validate_schema",
    "write_encodings",
]
