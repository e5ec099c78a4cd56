"""``python -m local thumbnails --src <folder> --out <folder>``: the Thumbnails pipeline, once.

Each file in the source folder is put into the moto source bucket under the notification's
prefix (``uploads/a/b.png`` for ``a/b.png``) and, if a notification of the template matches its
key (prefix and suffix filters, case-sensitive as in S3), the function gets the S3 event S3
would deliver. Thumbnails are copied from the destination bucket into the output folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3

from .runtime import load_function, moto_server, parser, run_once, say
from .s3util import create_buckets, download
from .template import ACCOUNT, REGION, Template, TemplateError


def notifications(template: Template) -> list[tuple[str, str, str, str]]:
    """(bucket logical id, function logical id, prefix, suffix) per Lambda notification."""
    found = []
    for _, resource in template.of_type("Custom::S3BucketNotifications"):
        props = resource["Properties"]
        bucket_id = template.logical_id_in(props["BucketName"], "AWS::S3::Bucket")
        for config in props["NotificationConfiguration"].get("LambdaFunctionConfigurations", []):
            if not any(e.startswith("s3:ObjectCreated:") for e in config["Events"]):
                continue
            rules = {
                r["Name"].lower(): r["Value"]
                for r in config.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            }
            function_id = template.logical_id_in(
                config["LambdaFunctionArn"], "AWS::Lambda::Function"
            )
            found.append((bucket_id, function_id, rules.get("prefix", ""), rules.get("suffix", "")))
    if not found:
        raise TemplateError(f"{template.stack}: no S3 notification to a function in the template")
    return found


def s3_event(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """The event S3 sends for a PutObject (the key URL-encoded, as S3 does)."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "local", "x-amz-id-2": "local"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "local",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": ACCOUNT},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag,
                        "sequencer": f"{time.time_ns():X}",
                    },
                },
            }
        ]
    }


def main(argv: list[str] | None = None) -> int:
    args = parser("thumbnails", __doc__.split("\n")[0], None)
    args.add_argument("--src", type=Path, required=True, help="folder of images to upload")
    args.add_argument("--out", type=Path, required=True, help="folder for the thumbnails")
    options = args.parse_args(argv)
    if not options.src.is_dir():
        args.error(f"--src must be a folder, got {options.src}")
    template = Template.load(options.cdk_out, "Thumbnails")
    return run_once(lambda: process(template, options.src, options.out))


def process(template: Template, src: Path, out: Path) -> int:
    targets = notifications(template)
    with moto_server() as endpoint:
        s3 = boto3.client("s3")
        buckets = create_buckets(template, s3)
        bucket_id, function_id, upload_prefix, _ = targets[0]
        bucket = buckets[bucket_id]
        say(f"source bucket {bucket} (moto at {endpoint}); {len(targets)} notification filters")
        functions: dict[str, Any] = {}
        handled = skipped = failed = 0
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            key = upload_prefix + path.relative_to(src).as_posix()
            body = path.read_bytes()
            etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
            matching = [
                f
                for b, f, prefix, suffix in targets
                if b == bucket_id and key.startswith(prefix) and key.endswith(suffix)
            ]
            if not matching:
                say(f"  {key}: no notification matches (prefix/suffix filters); not processed")
                skipped += 1
                continue
            for target in dict.fromkeys(matching):
                if target not in functions:
                    functions[target] = load_function(template, target)
                event = s3_event(bucket, key, len(body), etag)
                try:
                    result = functions[target](event)
                except Exception as err:
                    say(f"  {key}: FAILED ({err!r}); Lambda would retry this event twice")
                    failed += 1
                    continue
                say(f"  {key}: {json.dumps(result, default=str)}")
                handled += 1
        # The bucket the function writes to is the one its environment names.
        destination_id = template.logical_id_in(
            template.props(function_id)["Environment"]["Variables"], "AWS::S3::Bucket"
        )
        written = download(s3, buckets[destination_id], "", out)
        say(f"{handled} handled, {skipped} skipped, {failed} failed; {len(written)} files in {out}")
        for path in written:
            say(f"  {path}")
    return 0 if not failed else 1
