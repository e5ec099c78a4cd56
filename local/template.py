"""Read what a mode needs from a synthesized stack: resources, their wiring, and their code.

Intrinsic functions are resolved against local stand-ins: ``Ref``/``Fn::GetAtt`` of a resource
give the local name a mode chose for it (a table, a bucket, a secret), pseudo parameters give
the fake account and region, and ``Fn::Join``/``Fn::Sub`` are evaluated over those.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
PSEUDO = {
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "local",
    "AWS::NoValue": "",
}
# What a synthesized template depends on: newer files here mean cdk.out is stale.
_SOURCES = ("app.py", "cdk.json", "stacks", "lambda_src", "containers")


class TemplateError(Exception):
    """The template lacks what a mode needs; the message names the stack and what is missing."""


def _newest_source() -> float:
    newest = 0.0
    for name in _SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                newest = max(newest, file.stat().st_mtime)
    return newest


def ensure_synth(cdk_out: Path, stack: str) -> Path:
    """The stack's template in ``cdk_out``, synthesized first if missing or older than the code."""
    path = cdk_out / f"{stack}.template.json"
    if path.exists() and path.stat().st_mtime >= _newest_source():
        return path
    print(f"synthesizing {stack} into {cdk_out} ...", file=sys.stderr, flush=True)
    env = dict(os.environ, CDK_DISABLE_CLI_TELEMETRY="true")
    node = ROOT / "node_modules" / ".bin" / "node"
    if node.exists():  # as the Makefile does: jsii wants the Node 22 of node_modules
        env.setdefault("JSII_NODE", str(node))
    # In a child process: jsii's Node would otherwise live (and get Ctrl-C) with the server.
    code = (
        "import sys; from stacks.app import build_app; "
        "build_app(context={'stacks': sys.argv[1]}, outdir=sys.argv[2]).synth()"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, stack, str(cdk_out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode and "ValidationFailed" in result.stderr and path.exists():
        # cdk-nag findings: the template is written before validation (tests/test_nag.py lists
        # them); locally it still runs.
        print(f"warning: cdk-nag findings in {stack}; running anyway", file=sys.stderr)
    elif result.returncode:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise TemplateError(f"synthesizing {stack} failed: {last}")
    return path


@dataclass
class Template:
    stack: str
    cdk_out: Path
    resources: dict[str, dict[str, Any]]
    # Logical id -> the local physical value of Ref (and base of GetAtt).
    names: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, cdk_out: Path, stack: str, *, synth: bool = True) -> Template:
        path = ensure_synth(cdk_out, stack) if synth else cdk_out / f"{stack}.template.json"
        if not path.exists():
            raise TemplateError(f"{path} not found; run `make synth` or pass --cdk-out")
        data = json.loads(path.read_text())
        return cls(stack, cdk_out, dict(data.get("Resources", {})))

    def of_type(self, type_: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] == type_:
                yield logical_id, resource

    def one(self, type_: str, where: Mapping[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """The single resource of ``type_`` (whose properties include ``where``)."""
        found = [
            (lid, r)
            for lid, r in self.of_type(type_)
            if all(self.props(lid).get(k) == v for k, v in (where or {}).items())
        ]
        if len(found) != 1:
            raise TemplateError(
                f"{self.stack}: expected one {type_}{f' with {where}' if where else ''}, "
                f"found {len(found)}"
            )
        return found[0]

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.resources[logical_id].get("Properties", {}))

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function evaluated against the local names."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), *_ = value.items()
            if fn == "Ref":
                return PSEUDO.get(arg) or self.names.get(arg) or arg
            if fn == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._attribute(logical_id, attribute)
            if fn == "Fn::Join":
                separator, parts = arg
                return str(separator).join(str(self.resolve(p)) for p in parts)
            if fn == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return re.sub(
                    r"\$\{([^}!]+)\}",
                    lambda m: str(
                        self.resolve(variables[m.group(1)])
                        if m.group(1) in variables
                        else self.resolve({"Ref": m.group(1)})
                        if "." not in m.group(1)
                        else self.resolve({"Fn::GetAtt": m.group(1)})
                    ),
                    text,
                )
            if fn == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
        return {k: self.resolve(v) for k, v in value.items()}

    def _attribute(self, logical_id: str, attribute: str) -> str:
        name = self.names.get(logical_id, logical_id)
        type_ = self.resources.get(logical_id, {}).get("Type", "")
        if attribute == "Arn":
            service = type_.split("::")[1].lower() if "::" in type_ else "local"
            if type_ == "AWS::Lambda::Function":
                return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            if type_ == "AWS::S3::Bucket":
                return f"arn:aws:s3:::{name}"
            if type_ == "AWS::DynamoDB::Table":
                return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
            return (
                name if name.startswith("arn:") else f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name}"
            )
        return name

    def environment(self, logical_id: str) -> dict[str, str]:
        """A Lambda function's environment variables, resolved."""
        variables = self.props(logical_id).get("Environment", {}).get("Variables", {})
        return {k: str(self.resolve(v)) for k, v in variables.items()}

    def container_environment(self, container: Mapping[str, Any]) -> dict[str, str]:
        """An ECS or Batch container definition's ``Environment``, resolved."""
        return {e["Name"]: str(self.resolve(e["Value"])) for e in container.get("Environment", [])}

    def asset_dir(self, asset_hash: str) -> Path:
        path = self.cdk_out / f"asset.{asset_hash}"
        if not path.is_dir():
            raise TemplateError(f"{self.stack}: asset {path} is missing; synthesize again")
        return path

    def function_code(self, logical_id: str) -> tuple[Path, str]:
        """Where a function's code was staged in cdk.out, and its handler (``module.function``).

        Zip functions name their asset by its S3 key; image functions by their image tag, and
        their handler is the image's ``ImageConfig.Command`` or else the Dockerfile's ``CMD``.
        """
        props = self.props(logical_id)
        code = props.get("Code", {})
        if "ImageUri" in code:
            tag = str(self.resolve(code["ImageUri"])).rsplit(":", 1)[-1]
            root = self.asset_dir(tag)
            command = props.get("ImageConfig", {}).get("Command") or _dockerfile_cmd(root)
            return root, str(command[0])
        key = str(code.get("S3Key", ""))
        if not key.endswith(".zip"):
            raise TemplateError(f"{self.stack}: {logical_id} has no staged code asset")
        return self.asset_dir(key.removesuffix(".zip")), str(props["Handler"])

    def image_dir(self, image: Any) -> Path:
        """The staged build context of a container image asset (ECS task or Batch job)."""
        return self.asset_dir(str(self.resolve(image)).rsplit(":", 1)[-1])

    def logical_id_in(self, value: Any, type_: str) -> str:
        """The first resource of ``type_`` that ``value`` (an intrinsic) refers to."""
        text = json.dumps(value)
        for logical_id, resource in self.resources.items():
            if resource["Type"] == type_ and f'"{logical_id}"' in text:
                return logical_id
        raise TemplateError(f"{self.stack}: {text[:120]} refers to no {type_}")


def _dockerfile_cmd(root: Path) -> list[str]:
    for line in reversed((root / "Dockerfile").read_text().splitlines()):
        if line.startswith("CMD "):
            return list(json.loads(line[4:]))
    raise TemplateError(f"{root}/Dockerfile has no exec-form CMD")


def table_definition(props: Mapping[str, Any], name: str) -> dict[str, Any]:
    """CreateTable arguments from an ``AWS::DynamoDB::Table``'s properties."""
    definition: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {k: gsi[k] for k in ("IndexName", "KeySchema", "Projection")}
        for gsi in props.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    return definition


def create_table(dynamodb: Any, props: Mapping[str, Any], name: str) -> None:
    """Create the table as the template defines it: keys, global secondary indexes and TTL."""
    dynamodb.create_table(**table_definition(props, name))
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
