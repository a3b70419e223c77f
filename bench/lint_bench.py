#!/usr/bin/env python3
"""Benchmark ``sagewise lint`` against ``cfn-lint`` (and checkov when installed).

Usage (from the repository root)::

    python bench/lint_bench.py [--runs 5] [--templates 200] [--seed 20240611] [--json results.json]

Methodology
-----------
1. **Corpus.** A fixed-seed generator writes ``--templates`` CloudFormation templates (default 200) to
   ``bench/.work/lint/corpus/`` (git-ignored; rewritten on every run, kept afterwards for inspection).
   The templates look like what ML teams ship: SageMaker Model / EndpointConfig / Endpoint
   (real-time, async, serverless, A/B variants), Application Auto Scaling targets and policies,
   Step Functions state machines with ``sagemaker:createTrainingJob`` tasks (``!Sub`` JSON strings,
   YAML ``Definition`` objects with substitutions, CDK ``Fn::Join`` strings), IAM roles, Lambda
   functions, S3 buckets, queues, tables, alarms, parameters, mappings, conditions and outputs.
   Styles: hand-written YAML with short-form tags (a few in long form), SAM, hand-written JSON
   and CDK-synth JSON (hashed logical ids, ``aws:cdk:path`` metadata, bootstrap rule).
   Sizes are drawn from a log-normal distribution clipped to 50-600 lines. Template 0 is always
   a small YAML endpoint stack and is the "single small template" of the benchmark. Some
   templates deliberately contain the mistakes the rules look for, so findings get reported.
2. **Commands.** Each measurement is a fresh process (cold interpreter, cold imports) started with
   ``subprocess`` and reaped with ``os.wait4``, which gives the wall time and the child's own
   peak RSS and CPU time. sagewise runs as ``python -m auditor lint --fail-on never --format json
   --output FILE`` (cwd: the repository root); cfn-lint as its console script with ``--format
   json`` and every template passed as an argument; checkov as ``-f FILE`` / ``-d DIR
   --framework cloudformation``, both with ``--quiet --compact``. Reports go to
   ``bench/.work/lint/out/``, never to a terminal.
3. **Fair start-up.** The interpreter itself is started directly (``sys.executable`` and the
   console script next to it), not through a version-manager shim, which would add a shell and
   tens of milliseconds to every process. Children may write bytecode (``PYTHONDONTWRITEBYTECODE``
   is removed) into ``bench/.work/lint/pycache`` (``PYTHONPYCACHEPREFIX``), so both tools start from
   cached bytecode as they do on a normal install, and nothing is written into the source tree.
4. **Timing.** Every tool first runs once untimed (warm-up: bytecode cache, OS page cache) on the
   small template and on one template of each style, then every command runs ``--runs`` times,
   the tools interleaved within each round so that machine drift hits them alike. The table
   reports medians; the JSON file keeps every sample. A run whose CPU time is under 90% of its
   wall time waited for a CPU (other work was running): such runs are counted and reported,
   because on a 2-core machine they can inflate a median noticeably.
5. **Checks.** Linters' exit codes for findings are expected (sagewise 0 with ``--fail-on never``,
   2 when an input could not be read; cfn-lint a bitmask of 2/4/8; checkov 1). Anything else, or a
   traceback on stderr, is reported as a crash. sagewise's report on the corpus must show every
   template read and no input errors, since all generated templates are valid (cfn-lint's
   error-level findings on them are printed too). ``import auditor.lint, auditor.cli`` and a real
   lint run (``-X importtime``) must import neither boto3/botocore nor cfnlint.
6. **Baseline.** ``python -c pass`` runs with the others: the interpreter's own start-up on this
   machine, which every Python tool pays. The single-template seconds goal assumes a machine where it
   is a few tens of milliseconds; where it is more, sagewise's own share (its time minus the
   baseline) is printed beside it.

Goals (issue 2): a single small template, cold, at least 8x faster than cfn-lint and under 0.15 s;
200 templates at least 20x faster. A missed goal is reported, not an error: this is a benchmark.
The exit status is 1 only when the lint path imports a forbidden module or sagewise crashes or
reports input errors on the generated corpus, and 2 when cfn-lint is not installed.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work" / "lint"
SEED = 20240611
MIN_LINES, MAX_LINES, SMALL_LINES = 50, 600, 100
FORBIDDEN_MODULES = ("boto3", "botocore", "cfnlint")
SINGLE_RATIO_GOAL, SINGLE_SECONDS_GOAL, CORPUS_RATIO_GOAL = 8.0, 0.15, 20.0
CONTENDED = 0.9
"""A run whose CPU time is below this share of its wall time waited for a CPU: other work competed."""


# --------------------------------------------------------------------------------------------------
# CloudFormation values and their two spellings
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fn:
    """An intrinsic function: ``!Tag value`` in YAML short form, ``{"Fn::Tag": value}`` otherwise.

    ``GetAtt`` keeps its short-form value ``"Resource.Attribute"``; the long form splits it.
    """

    tag: str
    value: object

    def long_form(self) -> dict:
        name = "Ref" if self.tag == "Ref" else f"Fn::{self.tag}"
        value = self.value.split(".", 1) if self.tag == "GetAtt" else self.value
        return {name: long_form(value)}


def ref(name: str) -> Fn:
    return Fn("Ref", name)


def getatt(resource: str, attribute: str) -> Fn:
    return Fn("GetAtt", f"{resource}.{attribute}")


def long_form(value):
    """The value with every intrinsic in long form (what JSON templates and some YAML use)."""
    if isinstance(value, Fn):
        return value.long_form()
    if isinstance(value, dict):
        return {key: long_form(item) for key, item in value.items()}
    if isinstance(value, list):
        return [long_form(item) for item in value]
    return value


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}
_PLAIN_START = re.compile(r"[A-Za-z_/$]")


def yaml_scalar(value, flow: bool = False) -> str:
    """A one-line YAML scalar: plain when unambiguous (as people write them), else single-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    plain = (
        _PLAIN_START.match(text) is not None
        and text.lower() not in _YAML_WORDS
        and ": " not in text and " #" not in text and not text.endswith((" ", ":"))
        and not any(c in text for c in "'\"\t")
        and not (flow and any(c in text for c in ",[]{}"))
    )
    return text if plain else "'" + text.replace("'", "''") + "'"


def _flowable(items: list) -> bool:
    """Short lists of scalars and simple intrinsics read best in flow style: ``[a, !Ref b]``."""
    simple = all(
        not isinstance(item, (dict, list)) and not (isinstance(item, Fn) and isinstance(item.value, (dict, list)))
        and "\n" not in str(item)
        for item in items
    )
    return simple and len(_flow(items)) < 70


def _flow(value) -> str:
    if isinstance(value, Fn):
        return f"!{value.tag} {_flow(value.value)}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    return yaml_scalar(value, flow=True)


def _yaml_node(value, indent: int) -> tuple[str, list[str]]:
    """(text after ``key: `` or ``- ``, following lines at ``indent``) for one YAML node."""
    pad = " " * indent
    if isinstance(value, Fn):
        tag = f"!{value.tag}"
        if isinstance(value.value, list) and _flowable(value.value):
            return f"{tag} {_flow(value.value)}", []
        head, body = _yaml_node(value.value, indent)
        return (f"{tag} {head}" if head else tag), body
    if isinstance(value, dict):
        if not value:
            return "{}", []
        lines = []
        for key, item in value.items():
            head, body = _yaml_node(item, indent + 2)
            lines.append(f"{pad}{yaml_scalar(key)}:{' ' + head if head else ''}")
            lines.extend(body)
        return "", lines
    if isinstance(value, list):
        if not value:
            return "[]", []
        lines = []
        for item in value:
            head, body = _yaml_node(item, indent + 2)
            if head:
                lines.append(f"{pad}- {head}")
                lines.extend(body)
            else:
                lines.append(f"{pad}- {body[0].lstrip()}")
                lines.extend(body[1:])
        return "", lines
    if isinstance(value, str) and "\n" in value:
        indicator = "|" if value.endswith("\n") else "|-"
        return indicator, [pad + line if line else "" for line in value.rstrip("\n").split("\n")]
    return yaml_scalar(value), []


def to_yaml(document: dict, comments: dict) -> str:
    """Block-style YAML with short-form tags; ``comments`` maps a top-level key to a comment line."""
    lines = []
    for key, value in document.items():
        if key in comments:
            lines += ["", f"# {comments[key]}"]
        head, body = _yaml_node(value, 2)
        lines.append(f"{key}:{' ' + head if head else ''}")
        lines.extend(body)
    return "\n".join(lines).lstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------------
# Template generator
# --------------------------------------------------------------------------------------------------

CURRENT_INSTANCES = ["ml.m5.large", "ml.m5.xlarge", "ml.c5.xlarge", "ml.c5.2xlarge", "ml.m6i.large",
                     "ml.c6i.xlarge", "ml.c7i.large", "ml.r5.large", "ml.m5.2xlarge"]
GPU_INSTANCES = ["ml.g5.xlarge", "ml.g5.2xlarge", "ml.g4dn.xlarge", "ml.g6.xlarge", "ml.inf2.xlarge"]
PREVIOUS_INSTANCES = ["ml.m4.xlarge", "ml.c4.large", "ml.t2.medium", "ml.p3.2xlarge"]
TRAINING_INSTANCES = ["ml.m5.xlarge", "ml.m5.4xlarge", "ml.c5.4xlarge", "ml.g5.2xlarge", "ml.p3.2xlarge",
                      "ml.g4dn.xlarge", "ml.m4.4xlarge"]
CPU_IMAGES = [
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-cpu-py310",
]
GPU_IMAGES = [
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.1.0-gpu-py310",
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.1.1-tgi2.0.0-gpu-py310-cu121",
]
TRAINING_IMAGES = {
    "cpu": ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"],
    "gpu": ["763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-gpu-py310",
            "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-training:"
            "2.1.0-transformers4.36.0-gpu-py310-cu121"],
}
SERVICE_LINKED_ROLE = ("role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                       "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
TEAMS = ["fraud", "churn", "ranking", "forecast", "vision", "nlp", "pricing", "risk", "search", "ads"]
LAMBDA_CODE = [
    """import json
import os

import boto3

runtime = boto3.client("sagemaker-runtime")


def handler(event, context):
    body = event.get("body") or "{}"
    response = runtime.invoke_endpoint(
        EndpointName=os.environ["ENDPOINT_NAME"],
        ContentType="application/json",
        Body=body,
    )
    return {"statusCode": 200, "body": response["Body"].read().decode()}
""",
    """import datetime
import os

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    prefix = datetime.date.today().isoformat()
    keys = s3.list_objects_v2(Bucket=os.environ["BUCKET"], Prefix=prefix).get("Contents", [])
    return {"jobName": f"train-{prefix}-{context.aws_request_id[:8]}", "objects": len(keys)}
""",
    """import cfnresponse


def handler(event, context):
    # Custom resource: nothing to create, report success so the stack can roll forward.
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Status": "ok"})
""",
]


def _lognormal_lines(rng: random.Random) -> int:
    return max(MIN_LINES, min(MAX_LINES, int(rng.lognormvariate(math.log(140), 0.7))))


class TemplateBuilder:
    """Builds one template in a given style; components add resources and what they need."""

    def __init__(self, rng: random.Random, style: str, team: str):
        self.rng = rng
        self.style = style  # "yaml", "sam", "json" or "cdk"
        self.team = team
        self.long_yaml = style == "yaml" and rng.random() < 0.12  # some YAML authors write Fn:: forms
        self.literal_partition = style == "yaml" and rng.random() < 0.3  # arn:aws:... rather than !Sub
        self.sections = {"Parameters": {}, "Mappings": {}, "Conditions": {}, "Resources": {}, "Outputs": {}}
        self.kinds: list[str] = []

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def resources(self) -> dict:
        return self.sections["Resources"]

    def logical_id(self, base: str) -> str:
        if self.style == "cdk":
            base = f"{base}{self.rng.getrandbits(32):08X}"
        name, number = base, 2
        while name in self.resources:
            name, number = f"{base}{number}", number + 1
        return name

    def add(self, base: str, kind: str, properties: dict, *, depends_on=None, condition=None) -> str:
        logical_id = self.logical_id(base)
        resource: dict = {"Type": kind}
        if condition:
            resource["Condition"] = condition
        if depends_on:
            resource["DependsOn"] = depends_on
        resource["Properties"] = properties
        if self.style == "cdk":
            resource["Metadata"] = {"aws:cdk:path": f"{self.team.title()}Stack/{base}/Resource"}
        self.resources[logical_id] = resource
        return logical_id

    def first(self, kind: str) -> str | None:
        return next((name for name, r in self.resources.items() if r["Type"] == kind), None)

    def param(self, name: str, literal, *, probability: float = 0.5, **extra):
        """A literal, or (in hand-written styles, sometimes) a parameter defaulting to it."""
        if self.style == "cdk" or isinstance(literal, Fn) or (
                name not in self.sections["Parameters"] and self.rng.random() >= probability):
            return literal
        kind = "Number" if isinstance(literal, (int, float)) else "String"
        self.sections["Parameters"].setdefault(name, {"Type": kind, "Default": literal, **extra})
        return ref(name)

    def fmt(self, text: str):
        """``!Sub text`` by hand; CDK synthesizes the same string as ``Fn::Join`` of refs and attributes."""
        if "${" not in text:
            return text
        if self.style != "cdk":
            return Fn("Sub", text)
        pieces = []
        for index, piece in enumerate(re.split(r"\$\{([^}]+)\}", text)):
            if index % 2 == 0:
                if piece:
                    pieces.append(piece)
            elif "." in piece and not piece.startswith("AWS::"):
                pieces.append(getatt(*piece.split(".", 1)))
            else:
                pieces.append(ref(piece))
        return Fn("Join", ["", pieces])

    def arn(self, rest: str):
        partition = "aws" if self.literal_partition else "${AWS::Partition}"
        return self.fmt(f"arn:{partition}:{rest}")

    def output(self, name: str, value, description: str) -> None:
        body = {"Description": description, "Value": value}
        if self.style != "cdk":
            body["Export"] = {"Name": Fn("Sub", f"${{AWS::StackName}}-{name}")}
        self.sections["Outputs"][name] = body

    def role(self, base: str, service: str, managed: list[str], statements: list[dict]) -> str:
        """An IAM role; CDK style puts the inline statements in a separate DefaultPolicy resource."""
        properties = {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
            },
        }
        if managed:
            properties["ManagedPolicyArns"] = [self.arn(f"iam::aws:policy/{name}") for name in managed]
        if self.style != "cdk" and statements:
            properties["Policies"] = [{"PolicyName": f"{base[0].lower()}{base[1:]}-access",
                                       "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
        name = self.add(base, "AWS::IAM::Role", properties)
        if self.style == "cdk" and statements:
            self.add(f"{base}DefaultPolicy", "AWS::IAM::Policy", {
                "PolicyDocument": {"Statement": statements, "Version": "2012-10-17"},
                "PolicyName": f"{name}DefaultPolicy",
                "Roles": [ref(name)],
            })
        return name

    # -- SageMaker hosting ---------------------------------------------------------------------------

    def endpoint(self, mode: str) -> str:
        """Model, EndpointConfig and Endpoint (+ autoscaling); mode: realtime, async, serverless, ab."""
        self.kinds.append(f"endpoint-{mode}")
        rng = self.rng
        bucket = self.bucket() if mode == "async" or rng.random() < 0.3 else None
        gpu = rng.random() < 0.25
        instance = rng.choice(GPU_INSTANCES if gpu else CURRENT_INSTANCES * 3 + PREVIOUS_INSTANCES)
        image = rng.choice(GPU_IMAGES if gpu and rng.random() < 0.85 else CPU_IMAGES)
        if rng.random() < 0.3:
            image = self.fmt("${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/"
                             f"{self.team}-model:{rng.choice(['latest', 'v3', '1.4.2'])}")
        if self.style in ("yaml", "json") and rng.random() < 0.3:  # MLOps seed code: the role is an input
            self.sections["Parameters"]["ModelExecutionRoleArn"] = {
                "Type": "String", "Description": "Execution role of the model (from the project)"}
            role_arn = ref("ModelExecutionRoleArn")
        else:
            role_arn = getatt(self.role(
                "ExecutionRole" if self.style != "cdk" else "ModelRole", "sagemaker.amazonaws.com",
                ["AmazonSageMakerFullAccess"], [{
                    "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                    "Resource": [self.arn(f"s3:::{self.team}-models-*"), self.arn(f"s3:::{self.team}-models-*/*")]}],
            ), "Arn")
        container = {"Image": self.param("ImageUri", image, probability=0.35),
                     "ModelDataUrl": self.param("ModelDataUrl", f"s3://{self.team}-models-prod/model.tar.gz",
                                                probability=0.6)}
        if rng.random() < 0.4:
            container["Environment"] = {"SAGEMAKER_PROGRAM": "inference.py", "MODEL_SERVER_WORKERS": "2",
                                        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20"}
        model_properties = {"ExecutionRoleArn": role_arn}
        if rng.random() < 0.2:
            model_properties["Containers"] = [container]
        else:
            model_properties["PrimaryContainer"] = container
        model = self.add("Model", "AWS::SageMaker::Model", model_properties)

        variant_names = ["AllTraffic"] if mode != "ab" else ["Champion", "Challenger"]
        variants = []
        for index, variant_name in enumerate(variant_names):
            variant = {"ModelName": getatt(model, "ModelName"), "VariantName": variant_name,
                       "InitialVariantWeight": 1.0 if mode != "ab" else [0.9, 0.1][index]}
            if mode == "serverless":
                variant["ServerlessConfig"] = {"MaxConcurrency": rng.choice([5, 10, 20]),
                                               "MemorySizeInMB": rng.choice([2048, 4096, 6144])}
            else:
                variant["InstanceType"] = self.param("InstanceType", instance, probability=0.5,
                                                     AllowedValues=sorted({instance, "ml.m5.large", "ml.c5.xlarge"}))
                variant["InitialInstanceCount"] = self.param("InitialInstanceCount", rng.choice([1, 1, 2, 3]))
            variants.append(variant)
        config_properties: dict = {"ProductionVariants": variants}
        if mode == "async":
            topic = self.topic()
            config_properties["AsyncInferenceConfig"] = {
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": rng.choice([1, 2, 4])},
                "OutputConfig": {"S3OutputPath": self.fmt(f"s3://${{{bucket}}}/async-output/"),
                                 "NotificationConfig": {"SuccessTopic": ref(topic), "ErrorTopic": ref(topic)}},
            }
        if bucket and rng.random() < 0.6:
            config_properties["DataCaptureConfig"] = {
                "EnableCapture": True, "InitialSamplingPercentage": rng.choice([10, 20, 100]),
                "DestinationS3Uri": self.fmt(f"s3://${{{bucket}}}/data-capture"),
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        if self.style != "cdk" and rng.random() < 0.3:
            self.param("KmsKeyId", "", probability=1.0, Description="KMS key for the endpoint volume (optional)")
            self.sections["Conditions"]["HasKmsKey"] = Fn("Not", [Fn("Equals", [ref("KmsKeyId"), ""])])
            config_properties["KmsKeyId"] = Fn("If", ["HasKmsKey", ref("KmsKeyId"), ref("AWS::NoValue")])
        config = self.add("EndpointConfig", "AWS::SageMaker::EndpointConfig", config_properties)

        endpoint_properties = {"EndpointConfigName": getatt(config, "EndpointConfigName")}
        named = self.style != "cdk" and rng.random() < 0.4
        if named:
            endpoint_properties["EndpointName"] = self.param(
                "EndpointName", f"{self.team}-{rng.choice(['realtime', 'inference', 'scoring'])}", probability=0.7)
        endpoint = self.add("Endpoint", "AWS::SageMaker::Endpoint", endpoint_properties)
        self.output("EndpointName", getatt(endpoint, "EndpointName"), "Name of the SageMaker endpoint")

        if mode != "serverless":
            scaled = variant_names if rng.random() < 0.5 else variant_names[:1]
            if rng.random() < 0.75:
                for variant_name in scaled:
                    self.autoscaling(endpoint, variant_name, asynchronous=mode == "async")
        return endpoint

    def resource_id(self, endpoint: str, variant: str) -> tuple:
        """The scalable target's ResourceId, in the shapes real templates use, and whether it names the
        endpoint through a parameter (so the target needs an explicit DependsOn)."""
        shape = self.rng.random()
        if shape < 0.5 and "EndpointName" in self.sections["Parameters"]:
            return self.fmt(f"endpoint/${{EndpointName}}/variant/{variant}"), True
        if self.style == "cdk" or shape < 0.75:
            return Fn("Join", ["/", ["endpoint", getatt(endpoint, "EndpointName"), "variant", variant]]), False
        if shape < 0.9:
            return Fn("Sub", [f"endpoint/${{Name}}/variant/{variant}",
                              {"Name": getatt(endpoint, "EndpointName")}]), False
        return self.fmt(f"endpoint/${{{endpoint}.EndpointName}}/variant/{variant}"), False

    def autoscaling(self, endpoint: str, variant: str, asynchronous: bool) -> None:
        rng = self.rng
        low = 0 if asynchronous else rng.choice([1, 1, 2])
        high = low if rng.random() < 0.08 else low + rng.choice([2, 4, 9])
        resource_id, by_parameter = self.resource_id(endpoint, variant)
        target_properties = {
            "MaxCapacity": self.param("MaxCapacity", high), "MinCapacity": self.param("MinCapacity", low),
            "ResourceId": resource_id,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount", "ServiceNamespace": "sagemaker",
        }
        if rng.random() < 0.6:
            target_properties["RoleARN"] = self.arn(f"iam::${{AWS::AccountId}}:{SERVICE_LINKED_ROLE}")
        if rng.random() < 0.15:
            target_properties["ScheduledActions"] = [{
                "ScheduledActionName": "business-hours", "Schedule": "cron(0 7 ? * MON-FRI *)",
                "ScalableTargetAction": {"MinCapacity": low + 1, "MaxCapacity": high + 2},
            }]
        target = self.add(f"{variant}ScalableTarget", "AWS::ApplicationAutoScaling::ScalableTarget",
                          target_properties, depends_on=endpoint if by_parameter else None)
        if rng.random() < 0.07 and "ScheduledActions" not in target_properties:
            return  # a target nobody attached a policy to
        if rng.random() < 0.15 and not asynchronous:
            self.step_scaling(target, endpoint, variant)
            return
        configuration: dict = {"TargetValue": self.param("TargetValue", float(rng.choice([70, 100, 250, 750, 1000])))}
        if asynchronous:
            configuration["CustomizedMetricSpecification"] = {
                "MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
                "Dimensions": [{"Name": "EndpointName", "Value": getatt(endpoint, "EndpointName")}],
                "Statistic": "Average"}
            configuration["TargetValue"] = 5.0
        elif rng.random() < 0.2:
            configuration["CustomizedMetricSpecification"] = {
                "MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints",
                "Dimensions": [{"Name": "EndpointName", "Value": getatt(endpoint, "EndpointName")},
                               {"Name": "VariantName", "Value": variant}],
                "Statistic": "Average", "Unit": "Percent"}
            configuration["TargetValue"] = 60.0
        else:
            configuration["PredefinedMetricSpecification"] = {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
        cooldowns = rng.choice([(300, 60), (600, 300), (60, 60), None, (60, 300)])
        if cooldowns:
            configuration["ScaleInCooldown"], configuration["ScaleOutCooldown"] = cooldowns
        policy: dict = {"PolicyName": f"{self.team}-{variant.lower()}-invocations",
                        "PolicyType": "TargetTrackingScaling"}
        if rng.random() < 0.7:
            policy["ScalingTargetId"] = ref(target)
        else:
            policy.update({key: self.resources[target]["Properties"][key]
                           for key in ("ResourceId", "ScalableDimension", "ServiceNamespace")})
        policy["TargetTrackingScalingPolicyConfiguration"] = configuration
        self.add(f"{variant}ScalingPolicy", "AWS::ApplicationAutoScaling::ScalingPolicy", policy,
                 depends_on=None if "ScalingTargetId" in policy else target)

    def step_scaling(self, target: str, endpoint: str, variant: str) -> None:
        policy = self.add(f"{variant}StepScalingPolicy", "AWS::ApplicationAutoScaling::ScalingPolicy", {
            "PolicyName": f"{self.team}-{variant.lower()}-step", "PolicyType": "StepScaling",
            "ScalingTargetId": ref(target),
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity", "Cooldown": 120, "MetricAggregationType": "Average",
                "StepAdjustments": [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1},
                                    {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 500,
                                     "ScalingAdjustment": 1},
                                    {"MetricIntervalLowerBound": 500, "ScalingAdjustment": 2}],
            },
        })
        self.add(f"{variant}HighInvocationsAlarm", "AWS::CloudWatch::Alarm", {
            "AlarmDescription": f"Invocations per instance on {variant} above the step threshold",
            "Namespace": "AWS/SageMaker", "MetricName": "InvocationsPerInstance", "Statistic": "Sum",
            "Dimensions": [{"Name": "EndpointName", "Value": getatt(endpoint, "EndpointName")},
                           {"Name": "VariantName", "Value": variant}],
            "Period": 60, "EvaluationPeriods": 3, "Threshold": 1000, "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [ref(policy)], "OKActions": [ref(policy)],
        })

    # -- Training in Step Functions -------------------------------------------------------------------

    def training_pipeline(self) -> str:
        """A state machine whose tasks create SageMaker training jobs, with its roles and bucket."""
        self.kinds.append("training")
        rng = self.rng
        bucket = self.bucket()
        topic = self.topic() if rng.random() < 0.5 else None
        function = self.lambda_function() if rng.random() < 0.5 else None
        training_role = self.role("TrainingRole", "sagemaker.amazonaws.com", ["AmazonSageMakerFullAccess"], [{
            "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": [getatt(bucket, "Arn"), self.fmt(f"${{{bucket}.Arn}}/*")]}])
        statements = [
            {"Effect": "Allow", "Resource": "*",
             "Action": ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                        "sagemaker:CreateModel", "sagemaker:AddTags"]},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": getatt(training_role, "Arn")},
            {"Effect": "Allow", "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
             "Resource": self.arn("events:${AWS::Region}:${AWS::AccountId}:rule/"
                                  "StepFunctionsGetEventsForSageMakerTrainingJobsRule")},
        ]
        if function:
            statements.append({"Effect": "Allow", "Action": "lambda:InvokeFunction",
                               "Resource": getatt(function, "Arn")})
        if topic:
            statements.append({"Effect": "Allow", "Action": "sns:Publish", "Resource": ref(topic)})
        states_role = self.role("StatesRole", "states.amazonaws.com", [], statements)

        spot = rng.random() < 0.45
        instance = rng.choice(TRAINING_INSTANCES)
        image = rng.choice(TRAINING_IMAGES["gpu" if instance.split(".")[1][0] in "gp" else "cpu"])
        stopping = {"MaxRuntimeInSeconds": rng.choice([3600, 7200, 86400])}
        if spot and rng.random() < 0.8:
            stopping["MaxWaitTimeInSeconds"] = stopping["MaxRuntimeInSeconds"] * rng.choice([2, 2, 1])
        parameters = {
            "TrainingJobName.$": "$$.Execution.Name",
            "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
            "RoleArn": "@TrainingRoleArn@",
            "ResourceConfig": {"InstanceCount": rng.choice([1, 1, 2]), "InstanceType": instance,
                               "VolumeSizeInGB": rng.choice([30, 50, 100])},
            "InputDataConfig": [{
                "ChannelName": "train", "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://@Bucket@/train/",
                                                "S3DataDistributionType": "FullyReplicated"}},
            }],
            "OutputDataConfig": {"S3OutputPath": "s3://@Bucket@/models/"},
            "StoppingCondition": stopping,
            "HyperParameters": {"max_depth": "6", "eta": "0.2", "objective": "binary:logistic",
                                "num_round": str(rng.choice([100, 200, 400]))},
        }
        if spot:
            parameters["EnableManagedSpotTraining"] = True
            if rng.random() < 0.7:
                parameters["CheckpointConfig"] = {"S3Uri": "s3://@Bucket@/checkpoints/"}
        states: dict = {}
        if function:
            states["Prepare"] = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                 "Parameters": {"FunctionName": "@FunctionArn@", "Payload.$": "$"},
                                 "ResultSelector": {"prepared.$": "$.Payload"}, "ResultPath": "$.prepare",
                                 "Next": "Train"}
        states["Train"] = {
            "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
            "Parameters": parameters, "ResultPath": "$.training", "Next": "CreateModel",
            "Retry": [{"ErrorEquals": ["SageMaker.AmazonSageMakerException"], "IntervalSeconds": 30,
                       "MaxAttempts": 2, "BackoffRate": 2.0}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                       "Next": "Notify" if topic else "Failed"}],
        }
        states["CreateModel"] = {
            "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel",
            "Parameters": {"ModelName.$": "$$.Execution.Name", "ExecutionRoleArn": "@TrainingRoleArn@",
                           "PrimaryContainer": {"Image": image,
                                                "ModelDataUrl.$": "$.training.ModelArtifacts.S3ModelArtifacts"}},
            "Next": "Done",
        }
        if topic:
            states["Notify"] = {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                                "Parameters": {"TopicArn": "@TopicArn@", "Message.$": "States.JsonToString($.error)"},
                                "Next": "Failed"}
        states["Failed"] = {"Type": "Fail", "Error": "TrainingFailed"}
        states["Done"] = {"Type": "Succeed"}
        definition = {"Comment": f"Train the {self.team} model", "StartAt": next(iter(states)), "States": states}
        tokens = {"@TrainingRoleArn@": ("TrainingRoleArn", getatt(training_role, "Arn")),
                  "@Bucket@": ("ArtifactBucket", ref(bucket))}
        if function:
            tokens["@FunctionArn@"] = ("PrepareFunctionArn", getatt(function, "Arn"))
        if topic:
            tokens["@TopicArn@"] = ("NotificationTopicArn", ref(topic))
        machine = self.state_machine(definition, tokens, states_role)
        self.output("StateMachineArn", ref(machine), "Training state machine")
        return machine

    def state_machine(self, definition: dict, tokens: dict, role: str) -> str:
        """The definition the way each style writes it: YAML object, ``!Sub`` JSON, CDK ``Fn::Join``."""
        text = json.dumps(definition, indent=2)
        if self.style == "sam":
            substituted = json.loads(self._substitute(text, {t: f"${{{name}}}" for t, (name, _) in tokens.items()}))
            return self.add("TrainingStateMachine", "AWS::Serverless::StateMachine", {
                "Definition": substituted,
                "DefinitionSubstitutions": {name: value for name, value in tokens.values()},
                "Role": getatt(role, "Arn"),
                "Tracing": {"Enabled": True},
            })
        properties: dict = {"RoleArn": getatt(role, "Arn")}
        if self.style == "cdk":
            compact = json.dumps(definition, separators=(",", ":"))
            pieces: list = []
            for index, piece in enumerate(re.split("(@[A-Za-z]+@)", compact)):
                if index % 2:
                    pieces.append(tokens[piece][1])
                elif piece:
                    pieces.append(piece)
            properties["DefinitionString"] = Fn("Join", ["", pieces])
        elif self.rng.random() < 0.4:
            substituted = json.loads(self._substitute(text, {t: f"${{{name}}}" for t, (name, _) in tokens.items()}))
            properties["Definition"] = substituted
            properties["DefinitionSubstitutions"] = {name: value for name, value in tokens.values()}
        else:
            names = {t: "${" + value.value + "}" for t, (_, value) in tokens.items()}
            properties["DefinitionString"] = Fn("Sub", self._substitute(text, names) + "\n")
        properties["StateMachineName"] = self.fmt(f"${{AWS::StackName}}-{self.team}-training") \
            if self.style != "cdk" else f"{self.team}-training"
        return self.add("TrainingStateMachine", "AWS::StepFunctions::StateMachine", properties)

    @staticmethod
    def _substitute(text: str, replacements: dict) -> str:
        for token, replacement in replacements.items():
            text = text.replace(token, replacement)
        return text

    # -- Supporting resources (also used as filler to reach a template's size) ------------------------

    def bucket(self) -> str:
        properties = {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": self.rng.choice(["AES256", "aws:kms"])}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
            "VersioningConfiguration": {"Status": "Enabled"},
        }
        if self.rng.random() < 0.5:
            properties["LifecycleConfiguration"] = {"Rules": [
                {"Id": "expire-old-versions", "Status": "Enabled",
                 "NoncurrentVersionExpiration": {"NoncurrentDays": self.rng.choice([30, 90])}},
                {"Id": "archive", "Status": "Enabled", "Prefix": "archive/",
                 "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 180}]},
            ]}
        if self.style != "cdk" and not self.first("AWS::S3::Bucket") and self.rng.random() < 0.3:
            properties["BucketName"] = self.fmt(f"{self.team}-${{AWS::AccountId}}-${{AWS::Region}}-artifacts")
        name = self.add("ArtifactBucket", "AWS::S3::Bucket", properties)
        if self.rng.random() < 0.5:
            self.add(f"{name}Policy", "AWS::S3::BucketPolicy", {
                "Bucket": ref(name),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                    "Resource": [getatt(name, "Arn"), self.fmt(f"${{{name}.Arn}}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
            })
        return name

    def topic(self) -> str:
        name = self.add("NotificationTopic", "AWS::SNS::Topic", {
            "DisplayName": f"{self.team} ML notifications", "KmsMasterKeyId": "alias/aws/sns"})
        if self.style != "cdk" and self.rng.random() < 0.5:
            email = self.param("NotificationEmail", "ml-oncall@example.com", probability=1.0,
                               Description="Address subscribed to the notifications")
            self.add(f"{name}Subscription", "AWS::SNS::Subscription",
                     {"TopicArn": ref(name), "Protocol": "email", "Endpoint": email})
        return name

    def lambda_function(self) -> str:
        rng = self.rng
        role = self.role("FunctionRole", "lambda.amazonaws.com",
                         ["service-role/AWSLambdaBasicExecutionRole"],
                         [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}])
        endpoint = self.first("AWS::SageMaker::Endpoint")
        bucket = self.first("AWS::S3::Bucket")
        variables = {"LOG_LEVEL": rng.choice(["INFO", "DEBUG"])}
        if endpoint:
            variables["ENDPOINT_NAME"] = getatt(endpoint, "EndpointName")
        if bucket:
            variables["BUCKET"] = ref(bucket)
        code = {"ZipFile": rng.choice(LAMBDA_CODE)} if rng.random() < 0.6 else {
            "S3Bucket": self.fmt("cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"),
            "S3Key": f"{rng.getrandbits(128):032x}.zip"}
        properties = {
            "Code": code, "Handler": "index.handler", "Role": getatt(role, "Arn"),
            "Runtime": rng.choice(["python3.12", "python3.13"]), "Timeout": rng.choice([30, 60, 300]),
            "MemorySize": rng.choice([256, 512, 1024]), "Environment": {"Variables": variables},
        }
        if self.style == "sam":
            properties = {"InlineCode": code.get("ZipFile", LAMBDA_CODE[0]), "Handler": "index.handler",
                          "Runtime": properties["Runtime"], "Role": getatt(role, "Arn"),
                          "Environment": properties["Environment"],
                          "Events": {"Nightly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}}}
            function = self.add("Function", "AWS::Serverless::Function", properties)
        else:
            function = self.add("Function", "AWS::Lambda::Function", properties)
        if self.style != "cdk" and rng.random() < 0.6:
            self.add(f"{function}LogGroup", "AWS::Logs::LogGroup", {
                "LogGroupName": self.fmt(f"/aws/lambda/${{{function}}}"), "RetentionInDays": rng.choice([14, 30, 90])})
        return function

    def queue(self) -> None:
        dead_letters = self.add("DeadLetterQueue", "AWS::SQS::Queue", {"MessageRetentionPeriod": 1209600})
        self.add("RequestQueue", "AWS::SQS::Queue", {
            "VisibilityTimeout": 300, "SqsManagedSseEnabled": True,
            "RedrivePolicy": {"deadLetterTargetArn": getatt(dead_letters, "Arn"), "maxReceiveCount": 5}})

    def table(self) -> None:
        self.add("PredictionTable", "AWS::DynamoDB::Table", {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "requestId", "AttributeType": "S"},
                                     {"AttributeName": "createdAt", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "requestId", "KeyType": "HASH"},
                          {"AttributeName": "createdAt", "KeyType": "RANGE"}],
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
        })

    def key(self) -> None:
        key = self.add("EncryptionKey", "AWS::KMS::Key", {
            "Description": f"Encrypts {self.team} ML artifacts", "EnableKeyRotation": True,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "AccountAdmin", "Effect": "Allow",
                 "Principal": {"AWS": self.arn("iam::${AWS::AccountId}:root")},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "SageMakerUse", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:CreateGrant"], "Resource": "*"}]},
        })
        self.add(f"{key}Alias", "AWS::KMS::Alias", {"AliasName": f"alias/{self.team}-{key.lower()}",
                                                    "TargetKeyId": ref(key)})

    def alarm(self) -> None:
        endpoint = self.first("AWS::SageMaker::Endpoint")
        if endpoint:
            metric, namespace = self.rng.choice(["Invocation5XXErrors", "ModelLatency"]), "AWS/SageMaker"
            dimensions = [{"Name": "EndpointName", "Value": getatt(endpoint, "EndpointName")},
                          {"Name": "VariantName", "Value": "AllTraffic"}]
        else:
            function = (self.first("AWS::Lambda::Function") or self.first("AWS::Serverless::Function")
                        or self.lambda_function())
            metric, namespace = "Errors", "AWS/Lambda"
            dimensions = [{"Name": "FunctionName", "Value": ref(function)}]
        properties = {
            "AlarmDescription": f"{metric} above threshold", "Namespace": namespace, "MetricName": metric,
            "Dimensions": dimensions, "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 2,
            "Threshold": self.param("AlarmThreshold", 5, probability=0.3),
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        }
        topic = self.first("AWS::SNS::Topic")
        if topic:
            properties["AlarmActions"] = [ref(topic)]
        self.add(f"{metric.replace('5XX', 'Server')}Alarm", "AWS::CloudWatch::Alarm", properties)

    def setting(self) -> None:
        endpoint = self.first("AWS::SageMaker::Endpoint")
        value = getatt(endpoint, "EndpointName") if endpoint else self.fmt("${AWS::StackName}")
        name = self.add("EndpointNameParameter", "AWS::SSM::Parameter", {
            "Type": "String", "Value": value, "Description": "Read by the batch jobs and dashboards"})
        self.resources[name]["Properties"]["Name"] = self.fmt(f"/{self.team}/${{AWS::StackName}}/{name.lower()}")

    FILLERS = ("lambda_function", "bucket", "topic", "queue", "table", "key", "alarm", "setting")

    # -- the whole document ---------------------------------------------------------------------------

    def environment_condition(self) -> None:
        """An Environment parameter and IsProduction condition, used to size things per stage."""
        self.sections["Parameters"]["Environment"] = {
            "Type": "String", "Default": "dev", "AllowedValues": ["dev", "staging", "prod"],
            "Description": "Deployment stage"}
        self.sections["Conditions"]["IsProduction"] = Fn("Equals", [ref("Environment"), "prod"])
        self.sections["Mappings"]["StageSettings"] = {
            "dev": {"LogRetention": 14}, "staging": {"LogRetention": 30}, "prod": {"LogRetention": 365}}
        self.add("ApplicationLogGroup", "AWS::Logs::LogGroup", {
            "LogGroupName": self.fmt(f"/{self.team}/${{Environment}}/application"),
            "RetentionInDays": Fn("FindInMap", ["StageSettings", ref("Environment"), "LogRetention"])})
        self.add("ProductionDashboardParameter", "AWS::SSM::Parameter", {
            "Type": "String", "Value": "enabled", "Description": "Only production gets dashboards"},
            condition="IsProduction")

    def document(self) -> dict:
        document: dict = {}
        if self.style != "cdk":
            document["AWSTemplateFormatVersion"] = "2010-09-09"
        if self.style == "sam":
            document["Transform"] = "AWS::Serverless-2016-10-31"
        if self.style != "cdk":
            document["Description"] = f"{self.team.title()} ML {' and '.join(sorted(set(self.kinds)))} stack"
        sections = copy.deepcopy(self.sections)
        if self.style == "cdk":
            sections["Parameters"]["BootstrapVersion"] = {
                "Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version",
                "Description": "Version of the CDK Bootstrap resources in this environment, automatically "
                               "retrieved from SSM Parameter Store. [cdk:skip]"}
            sections["Resources"]["CDKMetadata"] = {
                "Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/2WQwQ"},
                "Metadata": {"aws:cdk:path": f"{self.team.title()}Stack/CDKMetadata/Default"},
                "Condition": "CDKMetadataAvailable"}
            regions = ["af-south-1", "ap-east-1", "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ca-central-1",
                       "eu-central-1", "eu-west-1", "us-east-1", "us-west-2"]
            sections["Conditions"]["CDKMetadataAvailable"] = Fn("Or", [
                Fn("Equals", [ref("AWS::Region"), region]) for region in regions])
        for name in ("Parameters", "Mappings", "Conditions", "Resources", "Outputs"):
            if sections[name]:
                document[name] = sections[name]
        if self.style == "cdk":
            document["Rules"] = {"CheckBootstrapVersion": {"Assertions": [{
                "Assert": Fn("Not", [Fn("Contains", [["1", "2", "3", "4", "5"], ref("BootstrapVersion")])]),
                "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' "
                                     "with a recent version of the CDK CLI."}]}}
        return document

    def render(self) -> str:
        document = self.document()
        if self.style in ("json", "cdk"):
            return json.dumps(long_form(document), indent=1 if self.style == "cdk" else 2) + "\n"
        if self.long_yaml:
            document = long_form(document)
        comments = {"Parameters": "Inputs", "Resources": f"{self.team} resources", "Outputs": "Exports"} \
            if self.rng.random() < 0.5 else {}
        return f"# {document['Description']}\n" + to_yaml(document, comments)


@dataclass
class GeneratedTemplate:
    path: Path
    style: str
    lines: int
    bytes: int


STYLES = {"yaml": 62, "cdk": 20, "json": 10, "sam": 8}
CORES = {"realtime": 34, "ab": 10, "async": 9, "serverless": 7, "training": 25, "realtime+training": 15}


def build_template(rng: random.Random, index: int) -> tuple[str, str, list]:
    """(text, style, kinds) for template ``index``; template 0 is the small single-template case."""
    while True:
        if index == 0:
            style, core, target = "yaml", "realtime", MIN_LINES
        else:
            style = rng.choices(list(STYLES), weights=list(STYLES.values()))[0]
            core = rng.choices(list(CORES), weights=list(CORES.values()))[0]
            target = _lognormal_lines(rng)
        builder = TemplateBuilder(rng, style, rng.choice(TEAMS))
        if index and style != "cdk" and rng.random() < 0.3:
            builder.environment_condition()
        for part in core.split("+"):
            if part == "training":
                builder.training_pipeline()
            else:
                builder.endpoint(part)
        text = builder.render()
        if text.count("\n") > MAX_LINES or (index == 0 and (
                text.count("\n") > SMALL_LINES or "ScalableTarget" not in text)):
            continue  # the core alone is too big for this style (or not the small scaled endpoint): draw again
        fillers = itertools.cycle(rng.sample(TemplateBuilder.FILLERS, len(TemplateBuilder.FILLERS)))
        while text.count("\n") < target:
            saved = copy.deepcopy(builder.sections)
            getattr(builder, next(fillers))()
            grown = builder.render()
            if grown.count("\n") > MAX_LINES:
                builder.sections = saved
                break
            text = grown
        return text, style, builder.kinds


def generate_corpus(directory: Path, count: int, seed: int) -> list[GeneratedTemplate]:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    rng = random.Random(seed)
    generated = []
    for index in range(count):
        text, style, kinds = build_template(rng, index)
        suffix = ".json" if style in ("json", "cdk") else rng.choice([".yaml", ".yaml", ".yml", ".template"])
        if style == "cdk":
            suffix = ".template.json"
        path = directory / f"{index:03d}-{style}-{'-'.join(sorted(set(kinds)))}{suffix}"
        path.write_text(text, encoding="utf-8")
        generated.append(GeneratedTemplate(path, style, text.count("\n"), len(text.encode())))
    return generated


# --------------------------------------------------------------------------------------------------
# Running and timing commands
# --------------------------------------------------------------------------------------------------

@dataclass
class Sample:
    seconds: float
    cpu_seconds: float
    max_rss_mb: float
    exit_code: int


@dataclass
class Measurement:
    tool: str
    scenario: str
    command: list
    warmup: list
    """Run once, untimed, before the timed rounds (the command itself, or the tool on a style sample)."""
    samples: list = field(default_factory=list)
    crashes: list = field(default_factory=list)
    """Messages for runs that exited abnormally or printed a traceback."""

    @property
    def median(self) -> float:
        return statistics.median(sample.seconds for sample in self.samples)

    @property
    def peak_rss_mb(self) -> float:
        return max(sample.max_rss_mb for sample in self.samples)


def child_environment() -> dict:
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    environment["NO_COLOR"] = "1"
    return environment


def run_once(command: list, stdout: Path) -> tuple[Sample, str]:
    """Run ``command`` in a fresh process; its wall time, CPU time, peak RSS, exit code and stderr."""
    with open(stdout, "wb") as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO, env=child_environment())
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    rss_kb = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss  # bytes on macOS
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, rss_kb / 1024, process.returncode), stderr


def expected_exit(tool: str, code: int, scenario: str = "") -> bool:
    """Whether an exit code means "ran and reported" rather than "crashed" for this tool."""
    if tool == "sagewise":
        # --fail-on never: 0, or 2 when an input could not be read; fix --diff: 1 when it shows a fix.
        return code in ((0, 1) if scenario == FIX else (0, 2))
    if tool == "cfn-lint":
        return code == 0 or (code > 0 and code % 2 == 0 and code <= 14)  # bitmask of 2/4/8
    return code in (0, 1)  # checkov: 1 when a check failed


def measure(measurements: list[Measurement], runs: int) -> None:
    """An untimed warm-up for every command, then ``runs`` rounds with the commands interleaved."""
    for round_number in range(runs + 1):
        for measurement in measurements:
            stdout = WORK / "out" / f"{measurement.tool}-{measurement.scenario}.out"
            sample, stderr = run_once(measurement.command if round_number else measurement.warmup, stdout)
            if not expected_exit(measurement.tool, sample.exit_code, measurement.scenario) \
                    or "Traceback (most recent call last)" in stderr:
                tail = stderr.strip().splitlines()[-3:]
                measurement.crashes.append(f"exit {sample.exit_code}: {' | '.join(tail) or '(no stderr)'}")
            if round_number:
                measurement.samples.append(sample)
        print(f"  {'warm-up' if not round_number else f'round {round_number}/{runs}'} done", flush=True)


# --------------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------------

def forbidden(modules) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in FORBIDDEN_MODULES)


def import_check(template: Path) -> dict:
    """Modules the lint path imports, statically and during a real lint run of ``template``.

    A failing ``import`` counts as a forbidden import: the check could not show the lint path is clean.
    """
    static = subprocess.run(
        [sys.executable, "-c", "import sys, auditor.lint, auditor.cli; print('\\n'.join(sys.modules))"],
        check=False, cwd=REPO, env=child_environment(), capture_output=True, text=True)
    static_modules = static.stdout.split() if static.returncode == 0 else \
        [f"(import failed: {(static.stderr.strip().splitlines() or ['?'])[-1]})"]
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "auditor", "lint", "--fail-on", "never",
         "--output", str(WORK / "out" / "importtime.out"), str(template)],
        check=False, cwd=REPO, env=child_environment(), capture_output=True, text=True)
    imported, self_us = [], Counter()
    for line in traced.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            imported.append(match.group(2))
            self_us[match.group(2).split(".")[0]] += int(match.group(1))
    return {
        "static_forbidden": [m for m in static_modules if m.startswith("(")] or forbidden(static_modules),
        "run_forbidden": forbidden(imported),
        "run_modules": len(imported),
        "run_import_ms": round(sum(self_us.values()) / 1000, 1),
        "heaviest_imports_ms": {name: round(us / 1000, 1) for name, us in self_us.most_common(8)},
    }


def sagewise_corpus_report(report: Path) -> dict:
    """What sagewise said about the corpus, from its JSON report of the last timed run."""
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"files": 0, "findings": 0, "by_rule": {}, "errors": [{"file": str(report), "line": None,
                                                                      "message": f"no usable report: {exc}"}]}
    summary = document["summary"]
    return {"files": summary.get("files"), "findings": summary["findings"], "by_rule": summary["by_rule"],
            "errors": document["errors"]}


def fix_corpus_report(diff: Path) -> str:
    """What the timed fix run would change: files and changed lines, from its unified diff."""
    try:
        lines = diff.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "no diff"
    files = sum(line.startswith("+++ ") for line in lines)
    added = sum(line.startswith("+") and not line.startswith("+++") for line in lines)
    return f"{files} files fixed, {added} lines added or changed"


def cfnlint_corpus_report(report: Path) -> dict:
    """cfn-lint's findings on the corpus by level; error-level ones suggest an invalid template."""
    try:
        matches = json.loads(report.read_text(encoding="utf-8") or "[]")
    except (OSError, ValueError) as exc:
        return {"by_level": {}, "by_rule": {}, "errors": [f"no usable report: {exc}"]}
    errors = [f"{Path(m['Filename']).name}:{m['Location']['Start']['LineNumber']}: {m['Rule']['Id']} {m['Message']}"
              for m in matches if m["Level"] == "Error"]
    return {"by_level": dict(Counter(m["Level"] for m in matches)),
            "by_rule": dict(Counter(m["Rule"]["Id"] for m in matches).most_common()), "errors": errors}


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------

SINGLE, CORPUS, FIX, BARE = "single", "corpus", "fix", "bare"


def console_script(name: str) -> str | None:
    """The script installed next to this interpreter (no shim in between), else the one on PATH."""
    sibling = Path(sys.executable).with_name(name)
    return str(sibling) if sibling.is_file() and os.access(sibling, os.X_OK) else shutil.which(name)


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (median reported; default 5)")
    parser.add_argument("--templates", type=int, default=200, help="templates in the corpus (default 200)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"corpus generator seed (default {SEED})")
    parser.add_argument("--json", metavar="FILE", help="also write the results to FILE as JSON")
    arguments = parser.parse_args(argv)
    if arguments.runs < 1 or arguments.templates < 1:
        parser.error("--runs and --templates must be at least 1")
    return arguments


def plan(corpus: list[GeneratedTemplate], corpus_dir: Path, out: Path, cfn_lint: str, checkov: str | None) -> list:
    """The commands to time, each with its warm-up command."""
    small = str(corpus[0].path)
    # Warming a corpus command up on one template of each style runs the same code (and fills the
    # same bytecode cache) as a whole corpus run, in a fraction of the time.
    sample = [str(next(t.path for t in corpus if t.style == style)) for style in sorted({t.style for t in corpus})]
    sagewise = [sys.executable, "-m", "auditor", "lint", "--fail-on", "never", "--format", "json", "--output"]
    sagewise_single = [*sagewise, str(out / "sagewise-single.json"), small]
    cfnlint = [cfn_lint, "--format", "json"]
    fix = [sys.executable, "-m", "auditor", "fix", "--diff", "--unsafe-fixes", "--isolated"]
    measurements = [
        Measurement("sagewise", SINGLE, sagewise_single, sagewise_single),
        Measurement("cfn-lint", SINGLE, [*cfnlint, small], [*cfnlint, small]),
        Measurement("sagewise", CORPUS, [*sagewise, str(out / "sagewise-corpus.json"), str(corpus_dir)],
                    [*sagewise, str(out / "sagewise-warmup.json"), *sample]),
        Measurement("cfn-lint", CORPUS, [*cfnlint, *(str(t.path) for t in corpus)], [*cfnlint, *sample]),
        # Every fix of the corpus computed, verified and printed; --diff leaves the corpus as generated.
        Measurement("sagewise", FIX, [*fix, str(corpus_dir)], [*fix, *sample]),
        # The interpreter alone: what any Python tool pays before its first import on this machine, so the
        # single-template figure can be read against a machine whose process start is slow.
        Measurement("python", BARE, [sys.executable, "-c", "pass"], [sys.executable, "-c", "pass"]),
    ]
    if checkov:
        quiet = ["--quiet", "--compact"]
        measurements += [
            Measurement("checkov", SINGLE, [checkov, "-f", small, *quiet], [checkov, "-f", small, *quiet]),
            Measurement("checkov", CORPUS, [checkov, "-d", str(corpus_dir), "--framework", "cloudformation", *quiet],
                        [checkov, *(part for path in sample for part in ("-f", path)), *quiet]),
        ]
    return measurements


def shown(command: list) -> str:
    """A command line for the record, with the corpus's file list abbreviated."""
    arguments = command if len(command) <= 12 else [*command[:5], f"... ({len(command) - 5} more)"]
    return " ".join(arguments)


def goal(description: str, met: bool) -> dict:
    return {"goal": description, "result": "PASS" if met else "MISS"}


def print_results(results: dict, by: dict, checkov: bool) -> None:
    corpus = results["corpus"]
    labels = {SINGLE: f"1 small template ({corpus['small_template_lines']} lines)",
              CORPUS: f"{corpus['templates']} templates ({corpus['lines']:,} lines)"}
    tools = ("sagewise", "cfn-lint", "checkov") if checkov else ("sagewise", "cfn-lint")

    def row(label: str, values: dict, unit: str) -> str:
        cells = f"{label:<34}{values['sagewise']:>11{unit}}"
        for tool in ("cfn-lint", "checkov"):
            cells += (f"{values[tool]:>11{unit}}{values[tool] / values['sagewise']:>7.1f}x" if tool in values
                      else f"{'skipped':>11}{'':>8}")
        return cells

    header = f"{'scenario':<34}{'sagewise s':>11}{'cfn-lint s':>11}{'ratio':>8}{'checkov s':>11}{'ratio':>8}"
    print(f"\n{header}\n{'-' * len(header)}")
    for scenario in (SINGLE, CORPUS):
        print(row(labels[scenario], {tool: by[(tool, scenario)].median for tool in tools}, ".3f"))
    print(row(f"peak RSS, {corpus['templates']} templates (MB)",
              {tool: by[(tool, CORPUS)].peak_rss_mb for tool in tools}, ".0f"))
    fixing = by[("sagewise", FIX)]
    relative = fixing.median / by[("sagewise", CORPUS)].median
    print(f"{'sagewise fix --diff --unsafe-fixes':<34}{fixing.median:>11.3f}  ({relative:.1f}x its lint of the same "
          f"{corpus['templates']} templates; {results['fix_corpus']})")
    bare = by[("python", BARE)].median
    print(f"{'python -c pass (bare interpreter)':<34}{bare:>11.3f}  (sagewise's own share of the single template: "
          f"{by[('sagewise', SINGLE)].median - bare:.3f} s)")
    load = results["machine"]["load_average"]
    print(f"\nmedians of {results['runs']} cold runs; ratio = other tool / sagewise; "
          f"1-minute load average {load[0]:.2f} before, {load[1]:.2f} after")
    contended = results["contended_runs"]
    if contended:
        print(f"WARNING: {contended} of {len(by) * results['runs']} runs had less than {CONTENDED:.0%} of a CPU "
              "(CPU time / wall time): other work competed and the figures are pessimistic. Re-run when idle.")
    print()
    for entry in results["goals"]:
        print(f"  {entry['result']:<5} {entry['goal']}")

    imports = results["imports"]
    heaviest = ", ".join(f"{name} {ms} ms" for name, ms in imports["heaviest_imports_ms"].items())
    print(f"\nA lint run imports {imports['run_modules']} modules, {imports['run_import_ms']} ms of import time "
          f"(-X importtime); heaviest: {heaviest}")
    for kind in ("static", "run"):
        if imports[f"{kind}_forbidden"]:
            print(f"  FORBIDDEN ({kind} import check): {', '.join(imports[f'{kind}_forbidden'])}")
    report = results["sagewise_corpus"]
    print(f"sagewise on the corpus: {report['files']} of {corpus['templates']} files read, {report['findings']} "
          f"findings {report['by_rule']}, {len(report['errors'])} input errors")
    for error in report["errors"]:
        print(f"  ERROR {error['file']}:{error['line']}: {error['message']}")
    cfnlint = results["cfn_lint_corpus"]
    print(f"cfn-lint on the corpus: {cfnlint['by_level'] or 'no findings'} {cfnlint['by_rule'] or ''}")
    for error in cfnlint["errors"][:20]:
        print(f"  {error}")
    for measurement in results["measurements"]:
        for crash in measurement["crashes"]:
            print(f"CRASH {measurement['tool']} {measurement['scenario']}: {crash}")


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    cfn_lint = console_script("cfn-lint")
    if cfn_lint is None:
        print("cfn-lint is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    checkov = shutil.which("checkov")

    corpus_dir, out = WORK / "corpus", WORK / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    print(f"Generating {arguments.templates} templates (seed {arguments.seed}) in {corpus_dir.relative_to(REPO)}")
    corpus = generate_corpus(corpus_dir, arguments.templates, arguments.seed)
    sizes = sorted(template.lines for template in corpus)
    styles = Counter(t.style for t in corpus)
    print(f"  {sum(sizes):,} lines, {sum(t.bytes for t in corpus) / 1e6:.1f} MB; lines per template min {sizes[0]}"
          f" / median {statistics.median(sizes):.0f} / max {sizes[-1]}; styles "
          + ", ".join(f"{style} {n}" for style, n in styles.most_common()))

    measurements = plan(corpus, corpus_dir, out, cfn_lint, checkov)
    print(f"Timing {len(measurements)} commands, 1 warm-up + {arguments.runs} runs each ({os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, cfn-lint {version('cfn-lint')}, "
          + (f"checkov {version('checkov')})" if checkov else "checkov not installed: skipped)"))
    load_before = os.getloadavg()[0]
    measure(measurements, arguments.runs)
    load_after = os.getloadavg()[0]

    by = {(m.tool, m.scenario): m for m in measurements}
    ratios = {f"{scenario}_{tool}": by[(tool, scenario)].median / by[("sagewise", scenario)].median
              for tool in ("cfn-lint", "checkov") for scenario in (SINGLE, CORPUS) if (tool, scenario) in by}
    imports = import_check(corpus[0].path)
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average": [load_before, load_after], "cfn_lint": version("cfn-lint"),
                    "checkov": version("checkov") if checkov else None},
        "seed": arguments.seed, "runs": arguments.runs,
        "corpus": {"templates": len(corpus), "lines": sum(sizes), "styles": dict(styles),
                   "small_template": corpus[0].path.name, "small_template_lines": corpus[0].lines},
        "measurements": [{"tool": m.tool, "scenario": m.scenario, "command": shown(m.command),
                          "median_seconds": m.median, "peak_rss_mb": m.peak_rss_mb,
                          "samples": [asdict(sample) for sample in m.samples], "crashes": m.crashes}
                         for m in measurements],
        "ratios": ratios,
        "contended_runs": sum(s.cpu_seconds < CONTENDED * s.seconds for m in measurements for s in m.samples),
        "goals": [
            goal(f"single small template >= {SINGLE_RATIO_GOAL:g}x faster than cfn-lint",
                 ratios[f"{SINGLE}_cfn-lint"] >= SINGLE_RATIO_GOAL),
            goal(f"single small template < {SINGLE_SECONDS_GOAL} s",
                 by[("sagewise", SINGLE)].median < SINGLE_SECONDS_GOAL),
            goal(f"{len(corpus)} templates >= {CORPUS_RATIO_GOAL:g}x faster than cfn-lint",
                 ratios[f"{CORPUS}_cfn-lint"] >= CORPUS_RATIO_GOAL),
            goal("lint path imports neither boto3 nor cfnlint",
                 not imports["static_forbidden"] and not imports["run_forbidden"]),
        ],
        "imports": imports,
        "sagewise_corpus": sagewise_corpus_report(out / "sagewise-corpus.json"),
        "fix_corpus": fix_corpus_report(out / f"sagewise-{FIX}.out"),
        "cfn_lint_corpus": cfnlint_corpus_report(out / "cfn-lint-corpus.out"),
    }
    print_results(results, by, bool(checkov))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"\nResults written to {arguments.json}")
    report = results["sagewise_corpus"]
    broken = (imports["static_forbidden"] or imports["run_forbidden"] or report["errors"]
              or report["files"] != len(corpus) or any(m.crashes for m in measurements if m.tool == "sagewise"))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
