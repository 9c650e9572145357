"""The agency's consents as HL7 FHIR R4 `Consent` resources, for its own FHIR systems.

`pprl node consent export-fhir` writes a Bundle (type `collection`) with one Consent per
grant on file, from the node's witnessed view of the ledger. The export stays at the
agency: it names the client by the agency's own case number (`patient.identifier`), which
the hub never sees. Everything is checked against the `fhir.resources` models of R4B
(4.3.0, the package's release of the R4 structure; Consent did not change between R4
and R4B) before it is written.

Mapping: status `active` (effective or not yet effective) or `inactive` (expired,
revoked, superseded); scope `patient-privacy`;
category LOINC 59284-0 (patient consent); `provision.type` permit for the period, the
recipient programs as actors with role IRCP (information recipient), the data classes as
`provision.class` and the purposes as `provision.purpose` under this project's code
systems; the form's SHA-256 and the grant ids as identifiers (FHIR's Attachment.hash is
SHA-1, so the scan's SHA-256 is not put there).
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from linkage_node.consent_desk import GrantOnFile
from linkage_node.errors import NodeError

SYSTEM = "urn:pprl-hub"
_SIGNER = {
    "client": "the client",
    "parent_or_guardian": "a parent or guardian",
    "legal_representative": "a legal representative",
    "court": "a court",
}


def fhir_bundle(agency_id: str, grants: list[GrantOnFile]) -> dict[str, Any]:
    """A FHIR R4 Bundle of Consent resources, checked against the FHIR models."""
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{g.consent_id}", "resource": _consent(agency_id, g)}
            for g in grants
        ],
    }
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:  # a bug here, never the user's input
        first = exc.errors(include_input=False, include_url=False)[0]
        raise NodeError(
            f"the FHIR export does not validate ({'.'.join(map(str, first['loc']))}: "
            f"{first['msg']})",
            "Report this; nothing was written.",
        ) from None
    return bundle


def _consent(agency_id: str, g: GrantOnFile) -> dict[str, Any]:
    status = "active" if g.status in {"effective", "not_yet_effective"} else "inactive"
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": g.grant_id.lower(),
        "identifier": [
            {"system": f"{SYSTEM}:grant-id", "value": g.grant_id},
            {"system": f"{SYSTEM}:consent-id", "value": g.consent_id},
            {"system": f"{SYSTEM}:ledger-index", "value": str(g.ledger_index)},
            {"system": f"{SYSTEM}:form-sha256", "value": g.form_sha256},
        ],
        "status": status,
        "scope": _concept(
            "http://terminology.hl7.org/CodeSystem/consentscope",
            "patient-privacy",
            "Privacy Consent",
        ),
        "category": [_concept("http://loinc.org", "59284-0", "Patient Consent")],
        "dateTime": g.signed_at,
        "performer": [{"display": f"signed by {_SIGNER.get(g.signer, g.signer)}"}],
        "organization": [{"identifier": {"system": f"{SYSTEM}:agency", "value": agency_id}}],
        "policy": [{"uri": f"{SYSTEM}:basis:{basis}"} for basis in g.basis],
        "provision": {
            "type": "permit",
            "period": {"start": g.effective_from, "end": g.expires_at},
            "actor": [
                {
                    "role": _concept(
                        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "IRCP",
                        "information recipient",
                    ),
                    "reference": {
                        "identifier": {"system": f"{SYSTEM}:program", "value": recipient},
                        "display": recipient.replace("_", " "),
                    },
                }
                for recipient in g.recipients
            ],
            "action": [
                _concept("http://terminology.hl7.org/CodeSystem/consentaction", "access", "Access")
            ],
            "purpose": [{"system": f"{SYSTEM}:purpose", "code": p} for p in g.purposes],
            "class": [{"system": f"{SYSTEM}:data-class", "code": c} for c in g.data_classes],
        },
    }
    if g.record_id:
        resource["patient"] = {
            "identifier": {
                "system": f"{SYSTEM}:agency:{agency_id}:case-number",
                "value": g.record_id,
            }
        }
    else:
        resource["patient"] = {"display": "a client no longer on the roster"}
    return resource


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}
