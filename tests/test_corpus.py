"""The real-world corpus in ``../shared/corpus``: no crash, errors only for files that really are invalid, and a
few findings pinned on real templates (judged by hand against the AWS documentation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.lint import lint_paths
from auditor.rules import load_rules, select

CATEGORIES = (
    "cfn-sagemaker-endpoint",
    "stepfunctions",
    "sagemaker-pipelines",
    "cfn-mlops-other",
    "lambda-ml-inference",
)
EXTENSIONS = (".yaml", ".yml", ".json", ".template")
CFN_LINT_TEMPLATES = 246

# Every corpus file that must be reported as unreadable, with why it really is invalid.
INVALID = {
    # The first line is a Python repr pasted above the template: "**** <aws_cdk.aws_apigateway.LambdaRestApi ...>"
    # (an unterminated YAML alias `*` token).
    "cfn-mlops-other/aws-samples__amazon-sagemaker-cdk-examples/api-lambda-sm__cfn.yaml": "line 1",
    # State "CheckEndpoint" declares "Type" twice (lines 128 and 137).
    "stepfunctions/aws-quickstart__quickstart-aws-utility-meter-data-analytics-platform/"
    "assets__statemachine__ml-pipeline-model-training.asl.json": "line 137",
    # cfn-lint's deliberately broken fixtures:
    # Missing comma between "us-east-1" and "us-east-2" in a JSON list.
    "cfn-lint-fixtures/bad/core/config_invalid_json.json": "line 8",
    # `bad:` opens a mapping, then a less-indented sequence item follows: not valid YAML.
    "cfn-lint-fixtures/bad/core/config_invalid_yaml.yaml": "line 8",
    # `!ImportValue Fn::Sub: "..."` inside a flow sequence makes a tagged mapping *key*, which CloudFormation
    # rejects (cfn-lint keeps it under bad/ for that reason).
    "cfn-lint-fixtures/bad/core/parse_invalid_map.yaml": "line 18",
    # Resource "MySNSTopic" declared twice.
    "cfn-lint-fixtures/bad/duplicate.json": "line 17",
    # Resource "mySnsTopic" declared twice.
    "cfn-lint-fixtures/bad/duplicate.yaml": "line 9",
    # `"Stack" {` has no colon.
    "cfn-lint-fixtures/bad/json_parse.json": "line 5",
    # A sequence item `- Key: ...` inside a mapping that is not a sequence: not valid YAML.
    "cfn-lint-fixtures/bad/template.yaml": "line 12",
}


def _corpus_files(corpus: Path) -> list[Path]:
    files = []
    for category in CATEGORIES:
        files += sorted(p for p in (corpus / category).rglob("*") if p.is_file())
    fixtures = sorted(p for p in (corpus / "cfn-lint-fixtures").rglob("*") if p.is_file() and p.suffix in EXTENSIONS)
    assert len(fixtures) == CFN_LINT_TEMPLATES
    return files + fixtures


@pytest.fixture(scope="module")
def corpus() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the shared corpus checkout must sit beside the repository")
    return path


@pytest.fixture(scope="module")
def linted(corpus):
    """Every corpus file named explicitly (so every one is parsed), linted in-process with the built-in rules."""
    files = _corpus_files(corpus)
    # The rules a run selects by default (opt-in rules such as SW203 are not among them).
    result = lint_paths([str(path) for path in files], select(load_rules()))  # a crash here fails every test below
    return result, files


def _relative(corpus: Path, shown: str) -> str:
    return Path(shown).resolve().relative_to(corpus).as_posix()


def _findings(linted, corpus, name: str) -> set:
    result, _ = linted
    return {(f.rule_id, f.location.line) for f in result.findings if _relative(corpus, f.location.file) == name}


# Named files that are neither a template nor a definition, or a template without any resource: skipped and
# counted as skipped, never an error (a pre-commit hook names every staged YAML and JSON file).
NOT_TEMPLATES = (
    "cfn-lint-fixtures/bad/empty_file.yaml",  # zero bytes
    "cfn-lint-fixtures/empty.yaml",
    "cfn-lint-fixtures/bad/not_cloudformation.yaml",  # a mapping without Resources
    "cfn-lint-fixtures/bad/string.yaml",  # the scalar "BadTemplate"
    "cfn-lint-fixtures/bad/resources/cloudformation/stack_nested.yaml",  # Parameters and `Resources: {}`
    "cfn-lint-fixtures/good/resources/cloudformation/stack_nested.yaml",
    "cfn-lint-fixtures/good/decode/parsing.json",
    "cfn-lint-fixtures/override_spec/complete.json",  # cfn-lint spec overrides, not templates
    "cfn-lint-fixtures/override_spec/custom.json",
    "cfn-lint-fixtures/override_spec/exclude.json",
    "cfn-lint-fixtures/override_spec/include.json",
    "cfn-lint-fixtures/override_spec/required.json",
)


def test_every_corpus_file_is_read(linted, corpus):
    result, files = linted
    assert all((corpus / name).is_file() for name in NOT_TEMPLATES)
    assert result.files == len(files) - len(result.errors) - len(NOT_TEMPLATES)
    assert result.skipped == len(NOT_TEMPLATES)


def test_errors_only_for_files_that_really_are_invalid(linted, corpus):
    result, _ = linted
    reported = {_relative(corpus, error.file): error for error in result.errors}
    wrongly_rejected = {name: reported[name].message for name in set(reported) - set(INVALID)}
    assert not wrongly_rejected, f"valid files reported as unreadable: {wrongly_rejected}"
    missed = set(INVALID) - set(reported)
    assert not missed, f"invalid files not reported: {missed}"


def test_messages_never_show_an_unreadable_placeholder(linted):
    result, _ = linted
    assert [f.message for f in result.findings if "${?}" in f.message] == []


def test_corpus_errors_carry_their_line(linted, corpus):
    result, _ = linted
    for error in result.errors:
        name = _relative(corpus, error.file)
        if name not in INVALID:
            continue  # reported by test_errors_only_for_files_that_really_are_invalid
        assert INVALID.get(name) == f"line {error.line}", (name, error.line, error.message)
        assert "Traceback" not in error.message


def test_directory_walk_reports_the_same_errors(linted, corpus):
    """Walking the directories reports the same unreadable files and the same findings as naming every file:
    named or walked, a file goes through the same gate."""
    directories = [str(corpus / category) for category in CATEGORIES + ("cfn-lint-fixtures",)]
    walked = lint_paths(directories, select(load_rules()))
    named, _ = linted
    assert {_relative(corpus, e.file) for e in walked.errors} == \
        {_relative(corpus, e.file) for e in named.errors}
    assert sorted((_relative(corpus, f.location.file), f.rule_id, f.location.line) for f in walked.findings) == \
        sorted((_relative(corpus, f.location.file), f.rule_id, f.location.line) for f in named.findings)


# -- findings pinned on real templates -----------------------------------------------------------------------

CDK_ENDPOINT = ("cfn-sagemaker-endpoint/aws__aws-cdk/packages__@aws-cdk__aws-sagemaker-alpha__test__"
                "integ.endpoint.js.snapshot__aws-cdk-sagemaker-endpoint.template.json")
EMD_REALTIME = ("cfn-sagemaker-endpoint/aws-samples__easy-model-deployer/"
                "src__emd__cfn__sagemaker_realtime__template.yaml")
APIGW = "cfn-sagemaker-endpoint/aws-samples__serverless-patterns/apigw-rest-sagemaker__template.yaml"
WORKSHOP_PRD = "cfn-sagemaker-endpoint/awslabs__amazon-sagemaker-mlops-workshop/assets__deploy-model-prd.yml"
SAFE_PRD = "cfn-sagemaker-endpoint/aws-samples__amazon-sagemaker-safe-deployment-pipeline/assets__deploy-model-prd.yml"
PROJECTS = "cfn-sagemaker-endpoint/aws-samples__sagemaker-custom-project-templates/"


def test_cdk_endpoint_t2_variants_cannot_autoscale(linted, corpus):
    # secondVariant and thirdVariant are ml.t2.medium without targets (T2 cannot be registered with Application
    # Auto Scaling) and previous generation; firstVariant (ml.m5.large) has a target built with Fn::Join and
    # GetAtt Endpoint.EndpointName, and a target-tracking policy through ScalingTargetId.
    assert _findings(linted, corpus, CDK_ENDPOINT) == {("SW101", 273), ("SW302", 273), ("SW101", 285), ("SW302", 285)}
    result, _ = linted
    messages = [f.message for f in result.findings if f.rule_id == "SW101" and f.location.file.endswith(
        "aws-cdk-sagemaker-endpoint.template.json")]
    assert all("ml.t2.medium" in message for message in messages)
    assert not any("firstVariant" in message for message in messages)


def test_easy_model_deployer_min_equals_max_by_default(linted, corpus):
    # MinCapacity and MaxCapacity are parameters that both default to 1: the target can never scale.
    assert _findings(linted, corpus, EMD_REALTIME) == {("SW103", 138)}


def test_serverless_patterns_gpu_endpoint(linted, corpus):
    # ml.p3.2xlarge (parameter default) without autoscaling; p3 is previous generation.
    assert _findings(linted, corpus, APIGW) == {("SW101", 79), ("SW302", 82)}
    result, _ = linted
    suggestion = [f.message for f in result.findings if f.rule_id == "SW302" and "apigw-rest" in f.location.file]
    assert "ml.p3.2xlarge" in suggestion[0]


@pytest.mark.parametrize("name", [WORKSHOP_PRD, SAFE_PRD])
def test_production_templates_with_autoscaling_are_clean(linted, corpus, name):
    # ml.c5.large / ml.m5.large, target min 2 / max 10 on a ResourceId built with !Sub from parameters, the
    # policy attached through ResourceId + ScalableDimension + ServiceNamespace, cooldowns 60/60.
    assert _findings(linted, corpus, name) == set()


def test_serverless_branch_of_an_if_is_not_reported(linted, corpus):
    # InstanceType/InitialInstanceCount only in the prod branch of !If, ServerlessConfig in the other branch:
    # the prod (instance-backed) shape has no autoscaling, the serverless one is fine.
    name = PROJECTS + "serverless-inf__seedcode__deploy__endpoint-config-template.yml"
    assert _findings(linted, corpus, name) == {("SW101", 76)}
    serverless = PROJECTS + "api-gateway-serverless__seedcode__deploy__endpoint-config-template.yml"
    assert _findings(linted, corpus, serverless) == set()


def test_templates_without_endpoints_are_clean(linted, corpus):
    for name in ("batch-inference__seedcode__endpoint-config-template.yml",
                 "multi-model-trainining-batch-inference-pipeline__seedcode__ml-batch-inference__endpoint-config-"
                 "template.yml"):
        assert _findings(linted, corpus, PROJECTS + name) == set()


def test_async_endpoints_without_scaling(linted, corpus):
    name = ("cfn-sagemaker-endpoint/aws-samples__sample-for-autoscaling-sagemaker-endpoints-with-custom-resource/"
            "SageMaker-Async-Endpoints.yaml")
    assert _findings(linted, corpus, name) == {("SW101", 149), ("SW101", 166), ("SW101", 183)}


def test_training_definitions_without_spot_are_clean(linted, corpus):
    # createTrainingJob.sync tasks and pipeline Training steps that do not use spot; the one spot state machine
    # decides EnableManagedSpotTraining and StoppingCondition at run time ("...$"), so nothing can be said.
    for name in ("stepfunctions/aws-samples__step-functions-workflows-collection/"
                 "train-ml-model__statemachine__statemachine.asl.json",
                 "stepfunctions/ohbuchim__sample-codes-for-aiml/amazon-sagemaker-training__sagemaker-managed-spot-"
                 "training-pipeline__asl.json",
                 "sagemaker-pipelines/aws-samples__dynamic-sagemaker-pipelines-framework/pipeline_definition.json"):
        assert _findings(linted, corpus, name) == set()


def test_no_findings_on_cfn_lint_fixtures(linted, corpus):
    # No SageMaker or scaling resources there; two state machines but no training task.
    result, _ = linted
    assert [f for f in result.findings if "/cfn-lint-fixtures/" in Path(f.location.file).resolve().as_posix()] == []
