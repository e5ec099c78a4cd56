"""Usage profiles: how much traffic and data a month, in one flat JSON file.

``small``, ``medium`` and ``large`` ship in ``cost/profiles/``; ``--profile path/to/mine.json``
takes a user's own file, which may set any subset of the fields (the rest come from ``medium``).
Each stack reads only the fields that drive its own bill.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .prices import CostError

PROFILES_DIR = Path(__file__).parent / "profiles"

# field: what it means (and its unit). Unknown fields in a user's file are refused.
FIELDS: dict[str, str] = {
    "requests_per_month": "HTTP requests a month to a web stack (API, service or site)",
    "avg_duration_ms": "Lambda run time per API request, ms",
    "payload_kb": "average response size, KB (egress, load balancer bytes)",
    "reads_per_request": "DynamoDB read request units per API request",
    "writes_per_request": "DynamoDB write request units per API request",
    "item_kb": "average DynamoDB item size, KB",
    "log_bytes_per_request": "log bytes written per request or message (function + access logs)",
    "requests_per_connection": "HTTP requests per client connection (load balancer capacity units)",
    "peak_to_average": "peak over average traffic, for capacity that does not scale (Lightsail)",
    "table_gb_stored": "GB stored in each DynamoDB table",
    "monthly_active_users": "users signing in each month (Cognito MAU)",
    "ws_connections": "WebSocket connections opened a month",
    "ws_connection_minutes": "WebSocket connection-minutes a month",
    "ws_messages_in": "WebSocket messages sent by clients a month",
    "ws_fanout": "messages pushed to other clients per message received (room size - 1)",
    "ws_message_kb": "average WebSocket message size, KB",
    "ws_duration_ms": "Lambda run time per WebSocket event, ms",
    "images_per_month": "images uploaded a month (Thumbnails)",
    "image_mb": "average uploaded image size, MB",
    "thumbnail_kb": "average thumbnail size, KB",
    "thumbnail_duration_ms": "Lambda run time per image, ms",
    "months_of_data": "months of uploads and exports kept (S3 grows until lifecycle rules expire)",
    "s3_gb_stored": "GB kept in a stack's data bucket (BatchJobs input)",
    "export_duration_s": "run time of one scheduled export, s",
    "export_compression": "table size over gzip export size",
    "batch_vcpu_hours": "vCPU-hours of batch jobs a month",
    "batch_output_gb": "GB of batch output written a month",
    "log_gb_ingested": "GB of logs a month from jobs that are not request-driven",
    "flow_log_gb": "GB of VPC flow logs a month",
    "ecr_gb_stored": "GB of container images kept in a stack's ECR repository",
    "secret_calls": "Secrets Manager API calls a month",
    "kms_requests": "KMS API requests a month against a stack's key",
}


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.json"))


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CostError(f"profile={str(path)!r} is not readable JSON: {err}") from None
    if not isinstance(doc, dict):
        raise CostError(f"profile={str(path)!r} must be a JSON object of field: number")
    return doc


def validate(doc: dict[str, Any], name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in doc.items():
        if key == "description":
            continue
        if key not in FIELDS:
            raise CostError(
                f"profile {name}: unknown field {key!r}; expected one of {sorted(FIELDS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CostError(
                f"profile {name}: {key}={value!r} must be a number >= 0 ({FIELDS[key]})"
            )
        out[key] = float(value)
    return out


def load_profile(name_or_path: str) -> dict[str, float]:
    """A built-in profile by name, or a user's JSON file laid over ``medium``."""
    if name_or_path in available_profiles():
        doc = _read(PROFILES_DIR / f"{name_or_path}.json")
        profile = validate(doc, name_or_path)
        missing = sorted(set(FIELDS) - set(profile))
        if missing:
            raise CostError(f"profile {name_or_path}: missing fields {missing}")
        return profile
    path = Path(name_or_path)
    if not path.exists():
        raise CostError(
            f"profile={name_or_path!r} is neither a built-in profile "
            f"{available_profiles()} nor an existing JSON file"
        )
    return {**load_profile("medium"), **validate(_read(path), str(path))}


def zero_profile() -> dict[str, float]:
    """No traffic and no data: what is left is the fixed monthly floor."""
    return dict.fromkeys(FIELDS, 0.0)
