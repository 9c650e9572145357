"""clkhash must keep producing the same CLK bytes for the same schema, secret and record.

Encodings made by different agencies, or by one agency before and after an upgrade, are
only comparable if this holds. The expected values were produced by clkhash 0.18.3 with
the `cryptography` it pins (40.0.2) and are reproduced with the current one; an upgrade
of either that changes them fails here instead of silently breaking linkage.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from clkhash import clk
from clkhash.schema import from_json_dict

DATA = Path(__file__).parent / "data"
SECRET = "pprl-hub known-answer secret 2026-11 (not for use)"
RECORDS = [
    ("17", "Zoë", "O'Neill-Smith", "1984-02-29"),
    ("18", "jon", "smith", "2001-12-31"),
]
EXPECTED = [
    (
        "TIcDDYKQUaGVBwxMFq2oBTv+7BVIFi1EkPIDIgF+sYW4JsAxmgCMFqgAAsBhjF4CP5kWwBlorCRo1kGNwC75BoXQ"
        "eDSrhKonDhYcBFnMU8JFg+SQHXBAeY6B7MDOvgX9exf8ssZgIdSwCQWTIOssgsY8tXnP3C4CdkX50EAMDBI=",
        422,
    ),
    (
        "RgUWYFcsFKEeJDBEAomClBHILCEY14U1FzpgIkFKAqWQAEYVMAFIWUEABQIojAQD6qBTjFgMaGRywHkQQDkFRMCD"
        "bQW7gItCVEzABTSGQmBBAmgSgZwSCzoCgGnSAiDoeQAQAgEsocQAAiWis6pgopWkFRJIIDAhRmSwUoJ9CAU=",
        329,
    ),
]


def test_clkhash_output_bytes_are_pinned() -> None:
    schema = from_json_dict(json.loads((DATA / "kat-schema.json").read_text()))
    clks = clk.generate_clks(RECORDS, schema, SECRET, max_workers=1)
    got = [(base64.b64encode(c.tobytes()).decode(), c.count()) for c in clks]
    assert got == EXPECTED
