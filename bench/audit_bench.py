#!/usr/bin/env python3
"""Benchmark ``sagewise audit`` on a moto server holding 500 endpoints, beside Cloud Custodian when installed.

Usage (from the repository root)::

    python bench/audit_bench.py [--runs 5] [--endpoints 500] [--custodian PATH] [--json results.json]

Methodology
-----------
1. **Account.** A ``moto_server`` on a free loopback port is seeded over HTTP with ``--endpoints``
   endpoints split over two regions (us-east-1, eu-west-1), each with its own model and endpoint
   config (a mix of ml.c5, ml.m5, ml.g4dn and ml.t2 types, some asynchronous); per region 80
   scalable targets (moto's paging of targets breaks past 100) with 40 scaling policies and 10
   scheduled actions; a week of daily Invocations, CPU and memory datapoints for 40 endpoints per
   region (CloudWatch in moto scans every datapoint for every query, so metrics for all 500
   would time moto rather than the audit); and 20 training jobs per region (two thirds of them spot).
2. **sagewise.** Each run is a fresh process, ``python -m auditor audit --region us-east-1
   --region eu-west-1 --format json --output FILE --stats --fail-on never`` with
   ``AWS_ENDPOINT_URL`` pointing at the server and fake credentials, started with the interpreter
   itself (no version-manager shim). One untimed warm-up run, then ``--runs`` timed runs; the
   table shows the median, min and max wall time. The report must list no errors, and ``--stats``
   gives the API calls (the total, and per endpoint).
3. **Calls per endpoint, moto and AWS.** moto's endpoints report no deployed images, so the audit
   describes each model; against AWS, Search's variant summaries carry the images and those
   ``DescribeModel`` calls disappear. The AWS figure is therefore the measured total without
   ``sagemaker:DescribeModel``: one ``DescribeEndpointConfig`` per endpoint here (each endpoint has its
   own config) plus a constant number of calls per region. Goals: at most 2.2 calls per endpoint on
   moto and 1.2 against AWS (printed as PASS or MISS).
4. **Cloud Custodian** (when a ``custodian`` command is found on PATH, next to the interpreter, or
   given with ``--custodian``): the equivalent listing policy, ``resource: aws.sagemaker-endpoint``
   with no filters, run with ``--cache-period 0`` over the same two regions, interleaved with the
   sagewise runs. It lists and describes endpoints only (no configs, scaling or metrics), so it is
   a lower bound for any audit of the same endpoints. Its resource count must match.

Figures depend on moto's speed as much as on the tool's: they compare tools and track
regressions, they do not predict AWS latency (where a describe costs tens of milliseconds). The exit
status is 1 when sagewise fails, reports errors or misses endpoints; a missing Cloud Custodian is
reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / ".work" / "audit"
REGIONS = ("us-east-1", "eu-west-1")
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
INSTANCE_TYPES = ("ml.c5.xlarge", "ml.m5.large", "ml.c5.4xlarge", "ml.g4dn.xlarge", "ml.m5.xlarge", "ml.t2.medium")
TARGETS_PER_REGION, POLICIES_PER_REGION, SCHEDULED_PER_REGION = 80, 40, 10
METRIC_ENDPOINTS_PER_REGION, TRAINING_JOBS_PER_REGION, DAYS = 40, 20, 7
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGIONS[0]}
GOAL_MOTO, GOAL_AWS = 2.2, 1.2
"""API calls per endpoint the audit should stay under, on moto and (computed) against AWS."""
PER_ENDPOINT = ("sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel")
"""Actions called per endpoint (per distinct config or model); every other action is a constant per region."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=5).close()
            return server, url
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("moto server did not start") from None
            time.sleep(0.1)


def seed(url: str, endpoints: int) -> None:
    """The account described in the module docstring, over HTTP."""
    session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
    now = datetime.now(timezone.utc)
    per_region = endpoints // len(REGIONS)
    for region in REGIONS:
        sagemaker = session.client("sagemaker", region_name=region, endpoint_url=url)
        autoscaling = session.client("application-autoscaling", region_name=region, endpoint_url=url)
        # botocore compresses large PutMetricData bodies, which moto cannot read
        cloudwatch = session.client("cloudwatch", region_name=region, endpoint_url=url,
                                    config=Config(disable_request_compression=True))
        for index in range(per_region):
            name = f"model-{index:04d}"
            sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
                "Image": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/model-{index % 7}:latest"})
            extra = {"AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://bench/out"}}} \
                if index % 10 == 9 else {}
            sagemaker.create_endpoint_config(EndpointConfigName=f"config-{index:04d}", ProductionVariants=[{
                "VariantName": "AllTraffic", "ModelName": name, "InstanceType": INSTANCE_TYPES[index % 6],
                "InitialInstanceCount": 1 + index % 3}], **extra)
            sagemaker.create_endpoint(EndpointName=f"endpoint-{index:04d}", EndpointConfigName=f"config-{index:04d}")
        for index in range(TARGETS_PER_REGION):
            resource_id = f"endpoint/endpoint-{index:04d}/variant/AllTraffic"
            dimension = "sagemaker:variant:DesiredInstanceCount"
            autoscaling.register_scalable_target(ServiceNamespace="sagemaker", ResourceId=resource_id,
                                                 ScalableDimension=dimension, MinCapacity=1, MaxCapacity=4)
            if index < POLICIES_PER_REGION:
                autoscaling.put_scaling_policy(
                    PolicyName=f"policy-{index}", ServiceNamespace="sagemaker", ResourceId=resource_id,
                    ScalableDimension=dimension, PolicyType="TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0, "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}})
            elif index < POLICIES_PER_REGION + SCHEDULED_PER_REGION:
                autoscaling.put_scheduled_action(
                    ServiceNamespace="sagemaker", ScheduledActionName=f"night-{index}", ResourceId=resource_id,
                    ScalableDimension=dimension, Schedule="cron(0 20 * * ? *)",
                    ScalableTargetAction={"MinCapacity": 1, "MaxCapacity": 2})
        data = []
        for index in range(METRIC_ENDPOINTS_PER_REGION):
            dimensions = [{"Name": "EndpointName", "Value": f"endpoint-{index:04d}"},
                          {"Name": "VariantName", "Value": "AllTraffic"}]
            for day in range(DAYS):
                timestamp = now - timedelta(days=day, hours=2)
                data += [
                    ("AWS/SageMaker", {"MetricName": "Invocations", "Value": 0 if index % 4 == 0 else 500.0}),
                    ("/aws/sagemaker/Endpoints", {"MetricName": "CPUUtilization", "Value": 10.0 + index}),
                    ("/aws/sagemaker/Endpoints", {"MetricName": "MemoryUtilization", "Value": 15.0}),
                ]
                for _, datum in data[-3:]:
                    datum.update(Dimensions=dimensions, Timestamp=timestamp)
        for namespace in ("AWS/SageMaker", "/aws/sagemaker/Endpoints"):
            batch = [datum for space, datum in data if space == namespace]
            for offset in range(0, len(batch), 500):
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch[offset:offset + 500])
        for index in range(TRAINING_JOBS_PER_REGION):
            stopping = {"MaxRuntimeInSeconds": 3600, **({"MaxWaitTimeInSeconds": 7200} if index % 2 else {})}
            sagemaker.create_training_job(
                TrainingJobName=f"job-{index:03d}", RoleArn=ROLE,
                AlgorithmSpecification={"TrainingImage": f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/train:1",
                                        "TrainingInputMode": "File"},
                OutputDataConfig={"S3OutputPath": "s3://bench/models"},
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
                StoppingCondition=stopping, EnableManagedSpotTraining=index % 3 != 0)


def custodian_command(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    beside_python = Path(sys.executable).with_name("custodian")
    return str(beside_python) if beside_python.exists() else shutil.which("custodian")


def run_sagewise(env: dict, output: Path) -> tuple[float, dict, dict]:
    command = [sys.executable, "-m", "auditor", "audit", "--format", "json", "--output", str(output), "--stats",
               "--fail-on", "never"] + [argument for region in REGIONS for argument in ("--region", region)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=WORK, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sagewise audit failed ({done.returncode}): {done.stderr[-2000:]}")
    stats = json.loads(done.stderr[done.stderr.index("{"):])
    return elapsed, stats, json.loads(output.read_text())


def run_custodian(command: str, env: dict, policy: Path, output: Path) -> tuple[float, int]:
    shutil.rmtree(output, ignore_errors=True)
    arguments = [command, "run", "--cache-period", "0", "-s", str(output), str(policy)]
    arguments += [argument for region in REGIONS for argument in ("--region", region)]
    started = time.perf_counter()
    done = subprocess.run(arguments, env=env, cwd=WORK, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"custodian failed ({done.returncode}): {done.stderr[-2000:]}")
    found = sum(len(json.loads(path.read_text())) for path in output.rglob("resources.json"))
    return elapsed, found


def verdict(value: float, goal: float) -> str:
    return f"goal <= {goal}: {'PASS' if value <= goal else 'MISS'}"


def summary(samples: list) -> dict:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "samples": samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--endpoints", type=int, default=500)
    parser.add_argument("--custodian", help="path of the custodian command (default: found on PATH)")
    parser.add_argument("--json", type=Path, help="write every sample here")
    options = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    server, url = start_moto()
    try:
        started = time.perf_counter()
        seed(url, options.endpoints)
        seconds = time.perf_counter() - started
        print(f"seeded {options.endpoints} endpoints in {len(REGIONS)} regions in {seconds:.1f} s")
        clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PYTHONDONTWRITEBYTECODE"}
        with tempfile.TemporaryDirectory() as home:
            env = {**clean, **FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": url, "HOME": home,
                   "AWS_CONFIG_FILE": f"{home}/none", "AWS_SHARED_CREDENTIALS_FILE": f"{home}/none",
                   "AWS_EC2_METADATA_DISABLED": "true", "PYTHONPATH": str(REPO),
                   "PYTHONPYCACHEPREFIX": str(WORK / "pycache")}
            return measure(options, env)
    finally:
        server.terminate()
        server.wait(timeout=10)


def measure(options, env: dict) -> int:
    report_file = WORK / "report.json"
    custodian = custodian_command(options.custodian)
    policy = WORK / "custodian-policy.yml"
    policy.write_text("policies:\n  - name: sagemaker-endpoints\n    resource: aws.sagemaker-endpoint\n")
    run_sagewise(env, report_file)  # warm-up: bytecode cache, moto's lazily built backends
    if custodian:
        run_custodian(custodian, env, policy, WORK / "custodian-out")
    sagewise_times, custodian_times, stats, report, custodian_found = [], [], {}, {}, None
    for _ in range(options.runs):
        elapsed, stats, report = run_sagewise(env, report_file)
        sagewise_times.append(elapsed)
        if custodian:
            elapsed, custodian_found = run_custodian(custodian, env, policy, WORK / "custodian-out")
            custodian_times.append(elapsed)
    calls = sum(stats["api_calls"].values())
    endpoints = stats["endpoints"]
    per_region = {action: count / len(REGIONS) for action, count in stats["api_calls"].items()}
    aws_calls = calls - stats["api_calls"].get("sagemaker:DescribeModel", 0)
    constant = sum(count for action, count in per_region.items() if action not in PER_ENDPOINT)
    results = {
        "endpoints": endpoints, "regions": len(REGIONS), "findings": len(report["findings"]),
        "errors": len(report["errors"]), "api_calls": stats["api_calls"], "api_calls_total": calls,
        "api_calls_per_endpoint": calls / endpoints, "aws_api_calls_per_endpoint": aws_calls / endpoints,
        "constant_calls_per_region": constant, "sagewise_seconds": summary(sagewise_times),
        "custodian_seconds": summary(custodian_times) if custodian_times else None,
        "custodian_endpoints": custodian_found, "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    print(f"\n{'tool':<34}{'median s':>10}{'min s':>9}{'max s':>9}{'endpoints':>11}{'API calls':>11}")
    print(f"{'sagewise audit (full audit)':<34}{results['sagewise_seconds']['median']:>10.2f}"
          f"{min(sagewise_times):>9.2f}{max(sagewise_times):>9.2f}{endpoints:>11}{calls:>11}")
    if custodian_times:
        print(f"{'custodian aws.sagemaker-endpoint':<34}{statistics.median(custodian_times):>10.2f}"
              f"{min(custodian_times):>9.2f}{max(custodian_times):>9.2f}{custodian_found:>11}{'-':>11}")
    else:
        print("Cloud Custodian not found (pass --custodian PATH to compare)")
    print(f"\nAPI calls per endpoint on moto: {calls / endpoints:.2f} ({verdict(calls / endpoints, GOAL_MOTO)}); "
          f"against AWS, without the model describes: {aws_calls / endpoints:.2f} "
          f"({verdict(aws_calls / endpoints, GOAL_AWS)}); constant calls per region: {constant:g}")
    print(f"findings: {len(report['findings'])}; errors: {len(report['errors'])}")
    print("calls per region: " + ", ".join(f"{action} {count:g}" for action, count in sorted(per_region.items())))
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")
    failed = report["errors"] or endpoints != options.endpoints // len(REGIONS) * len(REGIONS)
    if custodian_found is not None and custodian_found != endpoints:
        print(f"warning: custodian listed {custodian_found} endpoints, sagewise {endpoints}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
