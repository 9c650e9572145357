"""`pprl node validate` and `pprl node encode`: a roster export checked line by line
(column and rule, never a value) and encoded, with the guards that keep a bad export
from removing the agency's clients at the hub.

`validate` exits 3 when any row would be rejected (`--max-rejected` allows some);
`encode` encodes what is valid when at most `--max-rejected` rows (default 1%) are bad,
and exits 3 writing nothing otherwise, or when the export would remove more known
clients than `--allow-removals` (default 10%). No command prints or writes a cell value
unless `--show-values` asks to print it on this terminal.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from keys import LinkageSecret
from linkage_node.roster import (
    RULES,
    ColumnMapping,
    Issue,
    RosterResult,
    parse_policies,
    validate_roster,
)

err = Console(stderr=True, soft_wrap=True)

Mapping = Annotated[
    Path | None,
    typer.Option("--mapping", help="JSON mapping of your column names (and date formats)."),
]
Policy = Annotated[
    list[str] | None,
    typer.Option("--policy", help="Override a rule's action: RULE=reject|drop_field (repeatable)."),
]
ShowValues = Annotated[
    bool,
    typer.Option(
        "--show-values", help="Print offending cell values on this terminal (never in files)."
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(
        "--rejects", help="Write rejected rows' line, column and rule (no values) to this CSV."
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]
Delimiter = Annotated[
    str | None,
    typer.Option(
        "--delimiter",
        help="The export's field separator (default: found from the header: , ; tab |).",
    ),
]
Encoding = Annotated[
    str,
    typer.Option("--encoding", help="The export's text encoding, e.g. cp1252 (default UTF-8)."),
]
MaxRejected = Annotated[
    str | None,
    typer.Option(
        "--max-rejected",
        metavar="N|P%",
        help="Rejected rows allowed before the run fails with exit 3 "
        "(validate: 0; encode: 1%; encode writes nothing beyond it).",
    ),
]
MissingRows = Annotated[
    Literal["exit", "remove"],
    typer.Option(
        "--missing",
        help="A known client missing from this export: `exit` (default) records that they "
        "left the program today, kept at the hub as history with the date; `remove` "
        "deletes the record at the hub, history included (records entered in error, "
        "erasure requests).",
    ),
]
AllowRemovals = Annotated[
    str,
    typer.Option(
        "--allow-removals",
        envvar="PPRL_NODE_ALLOW_REMOVALS",
        metavar="N|P%",
        help="Known clients this run may remove (absent from the export); beyond it the "
        "run fails with exit 3 and writes nothing.",
    ),
]

_SHOWN_ISSUES = 50


def _report(result: RosterResult, show_values: bool) -> None:
    issues = result.issues
    if issues:
        table = Table("line", "column", "rule", "action", *(["value"] if show_values else []))
        for issue in issues[:_SHOWN_ISSUES]:
            row = [str(issue.line), issue.column, issue.rule, issue.action]
            if show_values:
                row.append(issue.value or "")
            table.add_row(*row)
        err.print(table)
        if len(issues) > _SHOWN_ISSUES:
            err.print(
                f"... and {len(issues) - _SHOWN_ISSUES} more (use --rejects to write them all)"
            )
        for rule, count in result.counts_by_rule().items():
            err.print(f"  {count:>7} x {rule}: {RULES[rule].description}")
    err.print(
        f"{result.rows} rows: {result.accepted} accepted "
        f"({result.with_dropped_fields} with fields dropped), {result.rejected} rejected"
    )


def _delimiter(text: str | None) -> str | None:
    """`--delimiter` as one character; "tab" and "\\t" name the tab."""
    if text is None:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(text.lower(), text)
    if len(value) != 1:
        raise typer.BadParameter("give one character, or 'tab'", param_hint="--delimiter")
    return value


def _report_plans(plans: Any) -> None:
    for issue in plans.issues[:_SHOWN_ISSUES]:
        outcome = "sent as other" if issue.action == "recode" else "row left out"
        err.print(f"  plans line {issue.line}, column {issue.column}: {issue.rule} ({outcome})")
    if len(plans.issues) > _SHOWN_ISSUES:
        err.print(f"  ... and {len(plans.issues) - _SHOWN_ISSUES} more plan problems")


def _write_rejects(path: Path, issues: list[Issue]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "rule", "action"])
        for issue in issues:
            writer.writerow([issue.line, issue.column, issue.rule, issue.action])


def validate(
    roster: Annotated[Path, typer.Argument(help="The roster export (CSV with a header).")],
    mapping: Mapping = None,
    policy: Policy = None,
    show_values: ShowValues = False,
    rejects: Rejects = None,
    json_out: JsonOut = False,
    max_rejected: MaxRejected = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
) -> None:
    """Check a roster and report every bad row by line, column and rule."""
    from linkage_node.guards import Allowance, GuardError, check_rejected
    from linkage_node.progress import progress_reporter

    allowance = Allowance.parse(max_rejected or "0", "--max-rejected")
    with progress_reporter(err) as report:
        result = validate_roster(
            roster,
            ColumnMapping.load(mapping) if mapping else None,
            parse_policies(policy or []),
            delimiter=_delimiter(delimiter),
            encoding=encoding,
            progress=report,
            keep_records=False,
        )
    _report(result, show_values)
    if rejects is not None:
        _write_rejects(rejects, result.issues)
    if json_out:
        typer.echo(json.dumps(result.summary(), indent=2))
    try:
        check_rejected("roster", result.rejected, result.rows, allowance)
    except GuardError:
        raise typer.Exit(3) from None


def encode(
    agency: Annotated[str, typer.Option(help="Your agency id.")],
    secret_file: Annotated[
        Path,
        typer.Option(
            "--secret-file",
            envvar="PPRL_LINKAGE_SECRET_FILE",
            help="The linkage secret from `pprl keys unseal`.",
        ),
    ],
    input_path: Annotated[Path, typer.Option("--input", help="The roster export.")],
    output: Annotated[Path, typer.Option(help="The encodings file to write.")],
    schema: Annotated[
        Path | None, typer.Option(help="Linkage schema (default: the bundled default).")
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="The node's state directory (default: pprl-node/AGENCY)."),
    ] = None,
    mapping: Mapping = None,
    policy: Policy = None,
    show_values: ShowValues = False,
    rejects: Rejects = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Encoding processes (default: all cores).")
    ] = None,
    plans: Annotated[
        Path | None,
        typer.Option(help="Plan milestone export (CSV) to send with this run's changes."),
    ] = None,
    stuck_reasons: Annotated[
        Path | None,
        typer.Option(
            help="CSV mapping the agency's own stuck reason codes onto the shared list "
            "(columns agency_code, code)."
        ),
    ] = None,
    json_out: JsonOut = False,
    max_rejected: MaxRejected = None,
    allow_removals: AllowRemovals = "10%",
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    missing: MissingRows = "exit",
) -> None:
    """Validate, normalise and encode a roster; only new and changed records are encoded."""
    from linkage_node.errors import check_writable
    from linkage_node.guards import DEFAULT_REJECTED_ENCODE, Allowance, GuardError
    from linkage_node.job import run_encoding_job
    from linkage_node.plans import load_stuck_reasons
    from linkage_node.progress import progress_reporter
    from linkage_node.schema import load_schema, schema_summary

    removals = Allowance.parse(allow_removals, "--allow-removals")
    rejected = Allowance.parse(max_rejected or DEFAULT_REJECTED_ENCODE, "--max-rejected")
    check_writable(output, "--output")  # before the secret, the schema and minutes of work
    reason_map = load_stuck_reasons(stuck_reasons) if stuck_reasons else None
    linkage_schema = load_schema(schema)
    secret = LinkageSecret.load(secret_file)
    try:
        with progress_reporter(err) as report:
            result = run_encoding_job(
                agency_id=agency,
                schema=linkage_schema,
                secret=secret,
                roster_path=input_path,
                output=output,
                state_dir=state_dir or Path("pprl-node") / agency,
                mapping=ColumnMapping.load(mapping) if mapping else None,
                policies=parse_policies(policy or []),
                workers=workers,
                progress=report,
                plans_path=plans,
                stuck_reasons=reason_map,
                allow_removals=removals,
                max_rejected=rejected,
                delimiter=_delimiter(delimiter),
                encoding=encoding,
                missing=missing,
            )
    except GuardError as exc:
        if exc.rejected is not None:
            roster_result, plan_result = exc.rejected
            _report(roster_result, show_values)
            if plan_result is not None:
                _report_plans(plan_result)
            if rejects is not None:
                _write_rejects(rejects, roster_result.issues)
        raise
    _report(result.roster, show_values)
    if rejects is not None:
        _write_rejects(rejects, result.roster.issues)
    diff = result.diff
    err.print(f"schema {schema_summary(linkage_schema)}, secret epoch {secret.epoch}")
    err.print(
        f"since the last run: {diff.new} new, {diff.changed} changed, "
        + (
            f"{diff.removed} left the program (kept as history), "
            if missing == "exit"
            else f"{diff.removed} removed, "
        )
        + f"{diff.unchanged} unchanged; encoded {result.encoded} "
        f"in {result.seconds:.1f} s; mean popcount {result.mean_popcount:.1%}"
    )
    err.print(f"wrote {result.header.record_count} encodings to {output}")
    if result.plans is not None:
        _report_plans(result.plans)
        err.print(
            f"plans: {result.plans.rows} rows, {len(result.plans.milestones)} valid; "
            f"{result.plan_changes} new or changed, {result.plan_removals} removed "
            "since the last run"
        )
    if json_out:
        typer.echo(
            json.dumps(
                {
                    **result.roster.summary(),
                    "new": diff.new,
                    "changed": diff.changed,
                    "removed": diff.removed if missing == "remove" else 0,
                    "exited": diff.removed if missing == "exit" else 0,
                    "unchanged": diff.unchanged,
                    "encoded": result.encoded,
                    "run_id": result.run_id,
                    "mean_popcount": round(result.mean_popcount, 4),
                    "schema_fingerprint": result.header.schema_fingerprint,
                    "epoch": result.header.epoch,
                },
                indent=2,
            )
        )
