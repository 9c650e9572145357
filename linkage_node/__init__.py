"""The agency node: where PII lives. It validates and normalises roster exports, encodes
them into CLKs under the shared linkage secret, and keeps the state that lets the next
run send only what changed. Nothing it writes for the hub holds PII."""

from linkage_node.encoder import Encoder, encode_all
from linkage_node.encodings_file import EncodingsHeader, read_encodings, write_encodings
from linkage_node.errors import NodeError, RosterError, SchemaError, StateError
from linkage_node.job import CANARY, JobResult, run_encoding_job
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
from linkage_node.schema import LinkageSchema, load_schema, validate_schema

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
