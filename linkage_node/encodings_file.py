"""The encodings file: what a node hands to the hub, and nothing more.

JSON Lines, UTF-8. The first line is the header:

    {"format": "pprl.encodings.v2", "agency_id": "DCFS", "epoch": "2026-11",
     "schema_fingerprint": "<64 hex>", "normalisation": "pprl-normalisation-1",
     "clk_bits": 1024, "record_count": N, "canary_digest": "<base64>",
     "created_at": "2026-11-23T12:00:00Z"}

then exactly N lines, one per record, in no meaningful order:

    {"ref": "<64 hex: HMAC of the record id>", "clk": "<base64 CLK>"}

CLKs are clkhash-compatible: base64 of `bitarray.tobytes()` (bit 0 is the most
significant bit of the first byte). `canary_digest` is a keyed hash (HMAC-SHA256 under a
key derived from the linkage secret) of the encoding of an agreed synthetic person:
every node with the same secret and schema produces the same one, and the hub can
compare them, but unlike the encoding itself (format v1 carried it) it is no known
plaintext that labels bit patterns. No names, dates, SSNs, case numbers or case-manager
ids appear anywhere in the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from keys import canonical
from linkage_node.errors import RosterError

FORMAT = "pprl.encodings.v2"
_HEADER_FIELDS = {
    "format",
    "agency_id",
    "epoch",
    "schema_fingerprint",
    "normalisation",
    "clk_bits",
    "record_count",
    "canary_digest",
    "created_at",
}


@dataclass(frozen=True)
class EncodingsHeader:
    """The first line of an encodings file."""

    agency_id: str
    epoch: str
    schema_fingerprint: str
    normalisation: str
    clk_bits: int
    record_count: int
    canary_digest: bytes
    created_at: str

    def to_json(self) -> dict[str, object]:
        """As written to the file."""
        return {
            "format": FORMAT,
            "agency_id": self.agency_id,
            "epoch": self.epoch,
            "schema_fingerprint": self.schema_fingerprint,
            "normalisation": self.normalisation,
            "clk_bits": self.clk_bits,
            "record_count": self.record_count,
            "canary_digest": canonical.b64encode(self.canary_digest),
            "created_at": self.created_at,
        }


def write_encodings(
    path: Path, header: EncodingsHeader, records: Iterable[tuple[str, bytes]]
) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one.
    Owner-readable only (0600): encodings are what a dictionary attack would start from.
    `records` may be a stream; their number must be the header's record count."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(header.to_json(), separators=(",", ":")) + "\n")
            written = 0
            for ref, clk in records:
                handle.write(f'{{"ref":"{ref}","clk":"{canonical.b64encode(clk)}"}}\n')
                written += 1
            if written != header.record_count:
                raise ValueError("record_count does not match the records")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk or a folder in the way leaves nothing behind
        raise


def read_encodings(path: Path) -> tuple[EncodingsHeader, Iterator[tuple[str, bytes]]]:
    """The header and an iterator over (ref, clk); checks shape and count."""
    handle = path.open(encoding="utf-8")
    first = handle.readline()
    try:
        doc = json.loads(first)
    except ValueError:
        handle.close()
        raise RosterError(
            str(path), "line 1 is not a JSON header", "Re-run `pprl node encode`."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or set(doc) != _HEADER_FIELDS:
        handle.close()
        raise RosterError(str(path), f"is not a {FORMAT} file", "Re-run `pprl node encode`.")
    header = EncodingsHeader(
        agency_id=doc["agency_id"],
        epoch=doc["epoch"],
        schema_fingerprint=doc["schema_fingerprint"],
        normalisation=doc["normalisation"],
        clk_bits=doc["clk_bits"],
        record_count=doc["record_count"],
        canary_digest=canonical.b64decode(doc["canary_digest"]),
        created_at=doc["created_at"],
    )

    def records() -> Iterator[tuple[str, bytes]]:
        count = 0
        with handle:
            for number, line in enumerate(handle, start=2):
                item = json.loads(line)
                if set(item) != {"ref", "clk"}:
                    raise RosterError(str(path), f"line {number} is not a record", "Re-run encode.")
                clk = canonical.b64decode(item["clk"])
                if len(clk) * 8 != header.clk_bits:
                    raise RosterError(
                        str(path), f"line {number}: CLK has the wrong length", "Re-run encode."
                    )
                count += 1
                yield item["ref"], clk
        if count != header.record_count:
            raise RosterError(
                str(path),
                f"holds {count} records, the header says {header.record_count}",
                "The file is truncated.",
            )

    return header, records()
