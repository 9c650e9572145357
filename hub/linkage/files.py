"""Offline linkage: encodings files in, a clusters CSV out.

The encodings file is the agency node's published format (`pprl.encodings.v2`, JSON
Lines: a header, then one `{"ref", "clk"}` per record). The hub reads it here on its own,
as it reads uploads over HTTP: hub and node share a format, never code.
"""

from __future__ import annotations

import csv
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.failures import HubError
from hub.linkage.engine import Dataset
from hub.linkage.memory import keep_big_arrays_out_of_the_heap, release_free_memory
from hub.linkage.refs import is_hex64, raw_refs
from hub.linkage.state import LinkageState
from keys import canonical

FORMAT = "pprl.encodings.v2"


class EncodingsFileError(HubError, ValueError):
    """An encodings file is malformed or does not fit with the others."""

    exit_code = 3  # invalid input data


@dataclass(frozen=True)
class EncodingsFile:
    """One agency's encodings and the context they were made under."""

    dataset: Dataset
    epoch: str
    schema_fingerprint: str
    canary: bytes


def _header(path: Path, line: str) -> tuple[int, int, tuple[str, str], str, bytes]:
    """(record count, CLK bytes, (agency, epoch), schema fingerprint, canary digest)."""
    try:
        header = json.loads(line)
    except ValueError:
        raise EncodingsFileError(f"{path}: line 1 is not a JSON header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise EncodingsFileError(f"{path}: not a {FORMAT} file")
    try:
        count, size = int(header["record_count"]), int(header["clk_bits"]) // 8
        context = (str(header["agency_id"]), str(header["epoch"]))
        fingerprint = str(header["schema_fingerprint"])
        canary = canonical.b64decode(header["canary_digest"])
    except (KeyError, TypeError, ValueError, canonical.EncodingError):
        raise EncodingsFileError(f"{path}: the header lacks a field or has a bad one") from None
    if count < 0 or size <= 0 or size % 8:
        raise EncodingsFileError(f"{path}: bad record_count or clk_bits in the header")
    return count, size, context, fingerprint, canary


def read_encodings_file(path: Path) -> EncodingsFile:
    """Read and check one file, straight into a CLK matrix and a bytes array of
    references (no Python object per record survives the read)."""
    with path.open(encoding="utf-8") as handle:
        count, size, context, fingerprint, canary = _header(path, handle.readline())
        clks = np.empty((count, size // 8), np.uint64)
        refs = np.empty(count, "S64")
        number = 1
        for number, line in enumerate(handle, start=2):
            row = number - 2
            if row >= count:
                raise EncodingsFileError(f"{path}: more records than the header's {count}")
            try:
                item = json.loads(line)
                clk = canonical.b64decode(item["clk"])
                ref = str(item["ref"]).encode("utf-8")
            except (ValueError, KeyError, TypeError, canonical.EncodingError):
                raise EncodingsFileError(f"{path}: line {number} is not a record") from None
            if len(clk) != size:
                raise EncodingsFileError(f"{path}: line {number}: CLK is not {size} bytes")
            if not ref:
                raise EncodingsFileError(f"{path}: line {number}: empty reference")
            if len(ref) > refs.dtype.itemsize:
                refs = refs.astype(f"S{len(ref)}")
            clks[row] = np.frombuffer(clk, np.uint64)
            refs[row] = ref
    if number - 1 != count:
        raise EncodingsFileError(f"{path}: {number - 1} records, the header says {count}")
    if refs.dtype.itemsize == 64 and is_hex64(refs):
        refs = raw_refs(refs)  # node references: 32 bytes each, not 64
    if len(np.unique(refs)) != count:
        raise EncodingsFileError(f"{path}: a reference appears twice")
    return EncodingsFile(Dataset(context[0], refs, clks), context[1], fingerprint, canary)


def read_compatible(paths: list[Path]) -> list[Dataset]:
    """Read several files, refusing any whose epoch, schema or canary differs."""
    keep_big_arrays_out_of_the_heap()
    files = [read_encodings_file(p) for p in paths]
    # What parsing left in the heap would otherwise sit under every later peak.
    release_free_memory()
    if len({f.dataset.agency for f in files}) != len(files):
        raise EncodingsFileError("two files are from the same agency")
    first = files[0]
    for path, f in zip(paths, files, strict=True):
        if f.epoch != first.epoch:
            raise EncodingsFileError(f"{path}: secret epoch {f.epoch}, not {first.epoch}")
        if f.schema_fingerprint != first.schema_fingerprint:
            raise EncodingsFileError(f"{path}: made with another linkage schema")
        if not hmac.compare_digest(f.canary, first.canary):
            raise EncodingsFileError(f"{path}: canary differs: made with another linkage secret")
    return [f.dataset for f in files]


def write_clusters(path: Path, state: LinkageState) -> int:
    """`cluster_id,agency,record_id` rows (record ids are the files' references),
    written atomically; returns the row count."""
    rows = 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cluster_id", "agency", "record_id"])
        for row in state.clusters():
            writer.writerow([cluster_label(row.cluster_id), row.agency, row.ref])
            rows += 1
    os.replace(tmp, path)
    return rows


def cluster_label(cluster_id: int) -> str:
    """How a cluster id is shown: c0000042."""
    return f"c{cluster_id:07d}"
