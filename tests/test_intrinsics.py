"""Unit tests of the intrinsic-function resolver (``auditor/sources/intrinsics.py``): what a template alone can
tell, and nothing it cannot."""

from __future__ import annotations

import textwrap

import pytest

from auditor.sources.intrinsics import (
    MAX_CONDITION_COMBINATIONS,
    Choices,
    MAX_RESOLVED_LENGTH,
    UNKNOWN,
    Resolver,
    Text,
    Token,
    has_unknown,
    integer,
    is_intrinsic,
    scenarios,
    split,
    text,
)
from auditor.sources.loader import Mapping, Sequence, locate, parse

TEMPLATE = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      Name: {Type: String, Default: churn}
      NoDefault: {Type: String}
      Count: {Type: Number, Default: 3}
      Variant: {Type: String, Default: AllTraffic}
      Image: {Type: "AWS::SSM::Parameter::Value<String>", Default: /ml/image-uri}
      Subnets: {Type: "AWS::SSM::Parameter::Value<List<String>>", Default: /net/subnets}
      Types: {Type: CommaDelimitedList, Default: "ml.m5.large,ml.c5.large"}
      Env: {Type: String, Default: prod, AllowedValues: [dev, prod]}
    Mappings:
      Sizes:
        prod: {type: ml.m5.xlarge, count: 2}
        dev: {type: ml.t2.medium}
    Conditions:
      IsProd: !Equals [!Ref Env, prod]
      IsBig: !Equals [!Ref Count, 3]
    Resources:
      Model:
        Type: AWS::SageMaker::Model
        Properties:
          ModelName: !Sub "${Name}-model"
          PrimaryContainer: {Image: !Ref Image}
      Config:
        Type: AWS::SageMaker::EndpointConfig
        Properties:
          ProductionVariants: []
      Endpoint:
        Type: AWS::SageMaker::Endpoint
        Properties:
          EndpointName: !Ref Name
          EndpointConfigName: !GetAtt Config.EndpointConfigName
      Unnamed:
        Type: AWS::SageMaker::Endpoint
        Properties:
          EndpointConfigName: !GetAtt Config.EndpointConfigName
      Component:
        Type: AWS::SageMaker::InferenceComponent
        Properties:
          InferenceComponentName: my-component
          EndpointName: !GetAtt Endpoint.EndpointName
      Bucket:
        Type: AWS::S3::Bucket
      Scorer:
        Type: AWS::Lambda::Function
        Properties: {FunctionName: !Sub "${Name}-scorer"}
      UnnamedFunction:
        Type: AWS::Serverless::Function
        Properties: {}
      Target:
        Type: AWS::ApplicationAutoScaling::ScalableTarget
        Properties: {}
    """)


@pytest.fixture(scope="module")
def template():
    return parse(TEMPLATE)


@pytest.fixture(scope="module")
def resolver(template):
    return Resolver(template)


def resolve(resolver, yaml_value: str):
    """Resolve a value written in YAML (short or long form)."""
    return resolver.resolve(parse(f"value: {yaml_value}\n")["value"])


# -- Ref --------------------------------------------------------------------------------------------------------

def test_ref_parameter_with_default(resolver):
    assert resolve(resolver, "!Ref Name") == "churn"
    assert resolve(resolver, "{Ref: Name}") == "churn"
    assert resolve(resolver, "!Ref Count") == 3
    assert resolve(resolver, "!Ref Types") == "ml.m5.large,ml.c5.large"


def test_ref_parameter_without_default(resolver):
    assert resolve(resolver, "!Ref NoDefault") == Token("param", "NoDefault")


@pytest.mark.parametrize("name", ["Image", "Subnets"])
def test_ssm_parameter_types_are_not_resolved(resolver, name):
    # The Default of an SSM parameter type is the *name* of the SSM parameter, not its value.
    assert resolve(resolver, f"!Ref {name}") == Token("param", name)


def test_ref_pseudo_parameters(resolver):
    assert resolve(resolver, "!Ref AWS::Region") == Token("pseudo", "AWS::Region")
    assert resolve(resolver, '!Ref "AWS::AccountId"') == Token("pseudo", "AWS::AccountId")
    assert resolve(resolver, "!Ref AWS::NoValue") == Token("pseudo", "AWS::NoValue")


def test_ref_of_a_sagemaker_resource_is_its_arn(resolver):
    # Fact sheet 0.1: Ref of AWS::SageMaker::Endpoint/EndpointConfig/Model/InferenceComponent returns the ARN.
    assert resolve(resolver, "!Ref Endpoint") == Token("arn", "Endpoint", "EndpointName")
    assert resolve(resolver, "!Ref Config") == Token("arn", "Config", "EndpointConfigName")
    assert resolve(resolver, "!Ref Model") == Token("arn", "Model", "ModelName")
    # An inference component's Ref is its ARN too, and it has no name attribute to suggest instead.
    assert resolve(resolver, "!Ref Component") == Token("arn", "Component", "")
    assert resolve(resolver, '!Sub "inference-component/${Component}"') == Text(
        ("inference-component/", Token("arn", "Component", "")))


def test_ref_of_other_resources_and_unknown_names(resolver):
    assert resolve(resolver, "!Ref Bucket") == Token("ref", "Bucket")
    assert resolve(resolver, "!Ref Target") == Token("ref", "Target")
    assert resolve(resolver, "!Ref Nowhere") == UNKNOWN
    assert resolve(resolver, "{Ref: [Name]}") == UNKNOWN


def test_ref_of_a_lambda_function_is_its_name(resolver):
    # Fact sheet 4.2: ResourceIds name functions as function:${Fn}:live, so the Ref must compare with the name.
    assert resolve(resolver, "!Ref Scorer") == "churn-scorer"
    assert resolve(resolver, '!Sub "function:${Scorer}:live"') == "function:churn-scorer:live"
    # A generated name is still one identity, the same whether written !Ref or ${...}.
    assert resolve(resolver, "!Ref UnnamedFunction") == Token("ref", "UnnamedFunction")
    assert resolve(resolver, '!Sub "function:${UnnamedFunction}:live"') == Text(
        ("function:", Token("ref", "UnnamedFunction"), ":live"))


# -- Sub --------------------------------------------------------------------------------------------------------

def test_sub_short_form(resolver):
    assert resolve(resolver, '!Sub "endpoint/${Name}/variant/${Variant}"') == "endpoint/churn/variant/AllTraffic"
    assert resolve(resolver, '!Sub "${Count}"') == "3"


def test_sub_with_unknown_pieces_stays_symbolic(resolver):
    value = resolve(resolver, '!Sub "arn:${AWS::Partition}:x:${NoDefault}/y"')
    assert value == Text(("arn:", Token("pseudo", "AWS::Partition"), ":x:", Token("param", "NoDefault"), "/y"))
    assert str(value) == "arn:${AWS::Partition}:x:${NoDefault}/y"
    assert not has_unknown(value)


def test_sub_long_form_with_variables(resolver):
    value = resolve(resolver, textwrap.dedent("""\
        !Sub
          - "endpoint/${EP}/variant/${V}-${Name}"
          - EP: !GetAtt Endpoint.EndpointName
            V: !Join ["-", [a, b]]
        """).replace("\n", "\n  "))
    assert value == "endpoint/churn/variant/a-b-churn"
    long_form = resolve(resolver, "{'Fn::Sub': ['${X}-${Y}', {X: !Ref NoDefault, Y: literal}]}")
    assert long_form == Text((Token("param", "NoDefault"), "-literal"))


def test_sub_literal_escape(resolver):
    assert resolve(resolver, '!Sub "${!Literal}-${Name}"') == "${Literal}-churn"
    assert resolve(resolver, "!Sub 'cost $5 ${!AWS::Region}'") == "cost $5 ${AWS::Region}"


def test_sub_with_attribute_references(resolver):
    assert resolve(resolver, '!Sub "${Endpoint.EndpointName}"') == "churn"
    assert resolve(resolver, '!Sub "endpoint/${Unnamed.EndpointName}/variant/A"') == Text(
        ("endpoint/", Token("getatt", "Unnamed", "EndpointName"), "/variant/A"))
    assert resolve(resolver, '!Sub "${Endpoint}"') == Token("arn", "Endpoint", "EndpointName")


def test_sub_malformed_is_unknown(resolver):
    assert resolve(resolver, "{'Fn::Sub': [a, b, c]}") == UNKNOWN
    assert resolve(resolver, "{'Fn::Sub': 5}") == UNKNOWN


# -- GetAtt -----------------------------------------------------------------------------------------------------

def test_getatt_both_forms(resolver):
    assert resolve(resolver, "!GetAtt Endpoint.EndpointName") == "churn"
    assert resolve(resolver, "{'Fn::GetAtt': [Endpoint, EndpointName]}") == "churn"
    assert resolve(resolver, "{'Fn::GetAtt': Endpoint.EndpointName}") == "churn"
    assert resolve(resolver, "!GetAtt [Endpoint, EndpointName]") == "churn"


def test_getatt_name_attributes_mirror_properties(resolver):
    assert resolve(resolver, "!GetAtt Model.ModelName") == "churn-model"
    assert resolve(resolver, "!GetAtt Component.EndpointName") == Token("getatt", "Component", "EndpointName")


def test_getatt_name_attribute_unset_is_its_own_identity(resolver):
    # Without the name property, CloudFormation generates the name; the attribute itself is the identity.
    assert resolve(resolver, "!GetAtt Config.EndpointConfigName") == Token("getatt", "Config", "EndpointConfigName")
    assert resolve(resolver, "!GetAtt Unnamed.EndpointName") == Token("getatt", "Unnamed", "EndpointName")
    assert resolve(resolver, "!GetAtt Config.EndpointConfigName") == \
        resolve(resolver, "{'Fn::GetAtt': [Config, EndpointConfigName]}")


def test_inference_component_has_no_name_attribute(resolver):
    # Fact sheet 0.1: AWS::SageMaker::InferenceComponent has no InferenceComponentName GetAtt attribute, so it
    # must not be mirrored from the property (that would hide SW106).
    assert resolve(resolver, "!GetAtt Component.InferenceComponentName") == \
        Token("getatt", "Component", "InferenceComponentName")


def test_getatt_other_attributes_and_bad_forms(resolver):
    assert resolve(resolver, "!GetAtt Bucket.Arn") == Token("getatt", "Bucket", "Arn")
    assert resolve(resolver, "!GetAtt Nowhere.Arn") == UNKNOWN
    assert resolve(resolver, "{'Fn::GetAtt': [Endpoint]}") == UNKNOWN
    assert resolve(resolver, "{'Fn::GetAtt': [Endpoint, !Ref NoDefault]}") == UNKNOWN


# -- Join, FindInMap, Select, ImportValue ----------------------------------------------------------------------

def test_join(resolver):
    assert resolve(resolver, "!Join ['/', [endpoint, !Ref Name, variant, !Ref Variant]]") == \
        "endpoint/churn/variant/AllTraffic"
    assert resolve(resolver, "!Join ['', [endpoint/, !GetAtt Unnamed.EndpointName, /variant/A]]") == Text(
        ("endpoint/", Token("getatt", "Unnamed", "EndpointName"), "/variant/A"))
    assert resolve(resolver, "!Join ['-', [1, true, x]]") == "1-true-x"
    assert resolve(resolver, "!Join ['', []]") == ""
    assert resolve(resolver, "!Join [',', !Ref Types]") == UNKNOWN  # a list parameter is a string here
    assert resolve(resolver, "{'Fn::Join': ['-']}") == UNKNOWN


def test_join_and_sub_build_the_same_identity(resolver):
    joined = resolve(resolver, "!Join ['', [endpoint/, !GetAtt Unnamed.EndpointName, /variant/A]]")
    subbed = resolve(resolver, "!Sub endpoint/${Unnamed.EndpointName}/variant/A")
    assert joined == subbed and hash(joined) == hash(subbed)


def test_find_in_map(resolver):
    assert resolve(resolver, "!FindInMap [Sizes, prod, type]") == "ml.m5.xlarge"
    assert resolve(resolver, "!FindInMap [Sizes, !Ref Env, count]") == 2
    assert resolve(resolver, "!FindInMap [Sizes, dev, count]") == UNKNOWN
    assert resolve(resolver, "!FindInMap [Sizes, dev, count, {DefaultValue: 1}]") == 1
    assert resolve(resolver, "!FindInMap [Nope, prod, type]") == UNKNOWN


def test_find_in_map_keyed_at_deployment_gives_every_value_of_the_map():
    """``!Ref AWS::Region`` (or a parameter without a default) as the top-level key: one of the map's values."""
    resolver = Resolver(parse(TEMPLATE))
    choices = resolve(resolver, "!FindInMap [Sizes, !Ref NoDefault, type]")
    assert choices == Choices(("ml.m5.xlarge", "ml.t2.medium"))
    assert has_unknown(choices)  # never an identity to match names against
    assert resolve(resolver, "!FindInMap [Sizes, !Ref AWS::Region, count]") == UNKNOWN  # dev has no count


def test_select(resolver):
    assert resolve(resolver, "!Select [1, [a, b, c]]") == "b"
    assert resolve(resolver, "!Select ['0', [a, b]]") == "a"
    assert resolve(resolver, "!Select [0, [!Ref Name]]") == "churn"
    assert resolve(resolver, "!Select [5, [a]]") == UNKNOWN
    assert resolve(resolver, "!Select [!Ref NoDefault, [a]]") == UNKNOWN


def test_import_value_is_unknown_but_has_an_identity(resolver):
    value = resolve(resolver, "!ImportValue shared-endpoint-name")
    assert value == Token("import", "shared-endpoint-name")
    assert resolve(resolver, "!Sub '${Name}-x'") != value


@pytest.mark.parametrize("value", ["!Base64 abc", "!GetAZs ''", "!Split [',', 'a,b']", "!Cidr [x, 1, 2]",
                                   "{'Fn::Length': [1]}", "{'Fn::ToJsonString': {a: 1}}",
                                   "!GetStackOutput {StackName: s, OutputName: o}"])
def test_unsupported_functions_are_unknown(resolver, value):
    assert resolve(resolver, value) == UNKNOWN


def test_plain_values_pass_through(resolver):
    assert resolve(resolver, "ml.m5.large") == "ml.m5.large"
    assert resolve(resolver, "{a: 1, b: 2}") == {"a": 1, "b": 2}


# -- If and scenarios -----------------------------------------------------------------------------------------

def test_if_resolves_only_when_both_branches_agree(resolver):
    assert resolve(resolver, "!If [IsProd, ml.m5.large, ml.m5.large]") == "ml.m5.large"
    assert resolve(resolver, "!If [IsProd, ml.m5.large, ml.c5.large]") == UNKNOWN
    assert resolve(resolver, "!If [IsProd, !Ref Name, churn]") == "churn"
    assert resolve(resolver, "{'Fn::If': [IsProd, a]}") == UNKNOWN


def test_scenarios_enumerate_each_condition_once():
    value = parse(textwrap.dedent("""\
        InstanceType: !If [IsProd, ml.m5.xlarge, ml.m5.large]
        InitialInstanceCount: !If [IsProd, 2, 1]
        VolumeSizeInGB: !If [IsBig, 100, 20]
        """))
    shapes = scenarios(value)
    assert len(shapes) == 4
    assert sorted((s["InstanceType"], s["InitialInstanceCount"], s["VolumeSizeInGB"]) for s in shapes) == sorted([
        ("ml.m5.xlarge", 2, 100), ("ml.m5.xlarge", 2, 20), ("ml.m5.large", 1, 100), ("ml.m5.large", 1, 20)])


def test_scenarios_remove_no_value():
    value = parse(textwrap.dedent("""\
        VariantName: AllTraffic
        InstanceType: !If [IsProd, ml.m5.large, !Ref "AWS::NoValue"]
        ServerlessConfig: !If [IsProd, !Ref "AWS::NoValue", {MaxConcurrency: 5, MemorySizeInMB: 2048}]
        Tags:
          - !If [IsProd, {Key: env, Value: prod}, !Ref "AWS::NoValue"]
          - {Key: team, Value: ml}
        """))
    shapes = {("InstanceType" in s): s for s in scenarios(value)}
    assert set(shapes) == {True, False}
    prod, other = shapes[True], shapes[False]
    assert prod["InstanceType"] == "ml.m5.large" and "ServerlessConfig" not in prod
    assert [tag["Key"] for tag in prod["Tags"]] == ["env", "team"]
    assert other["ServerlessConfig"] == {"MaxConcurrency": 5, "MemorySizeInMB": 2048}
    assert [tag["Key"] for tag in other["Tags"]] == ["team"]
    assert all(s["VariantName"] == "AllTraffic" for s in shapes.values())


def test_scenarios_keep_positions():
    value = parse("a: 1\nb: !If [C, {x: 1}, {x: 2}]\nc:\n  - !If [C, !Ref AWS::NoValue, 3]\n  - 4\n")
    shapes = scenarios(value)
    assert len(shapes) == 2
    for shape in shapes:
        assert isinstance(shape, Mapping)
        assert locate(shape, ["c"]) == (3, 1)
        assert locate(shape, ["a"]) == (1, 1)
        assert isinstance(shape["c"], Sequence)
        last = len(shape["c"]) - 1
        assert shape["c"][last] == 4 and locate(shape, ["c", last]) == (5, 5)


def test_scenarios_whole_properties_if():
    value = parse("!If [IsShadow, {ProductionVariants: [a], ShadowProductionVariants: [b]}, {ProductionVariants: [c]}]")
    shapes = scenarios(value)
    assert sorted(s["ProductionVariants"][0] for s in shapes) == ["a", "c"]


def test_scenarios_without_conditions_and_over_the_limit():
    plain = parse("a: 1\n")
    assert scenarios(plain) == [plain]
    many = 1
    while 2 ** many <= MAX_CONDITION_COMBINATIONS:
        many += 1
    value = parse("".join(f"k{i}: !If [C{i}, 1, 2]\n" for i in range(many)))
    assert scenarios(value) == [value]  # too many combinations: left as is, each If then resolves to UNKNOWN


# -- Text helpers -------------------------------------------------------------------------------------------

def test_split_text():
    value = Text(("endpoint/", Token("param", "Name"), "/variant/AllTraffic"))
    assert split(value, "/") == ["endpoint", Token("param", "Name"), "variant", "AllTraffic"]
    prefixed = Text(("x-", Token("param", "Name"), "-y/z"))
    assert split(prefixed, "/") == [Text(("x-", Token("param", "Name"), "-y")), "z"]
    assert split("a/b/c", "/") == ["a", "b", "c"]
    assert split(Token("param", "Name"), "/") == [Token("param", "Name")]
    a, b = Token("param", "A"), Token("param", "B")
    assert split(Text((a, "/", b)), "/") == [a, b]


def test_text_normalises_pieces():
    name = Token("param", "Name")
    assert text(["a", "b", name, "", "c"]) == Text(("ab", name, "c"))
    assert text(["only"]) == "only"
    assert text([name]) == name
    assert text([]) == ""
    assert text([Text(("a", name)), "b"]) == Text(("a", name, "b"))


def test_known_and_unknown():
    name = Token("param", "Name")
    assert has_unknown(UNKNOWN) and has_unknown(Text(("a", UNKNOWN)))
    assert not has_unknown(name) and not has_unknown("x") and not has_unknown(Text(("a", name)))
    assert str(UNKNOWN) == "<unresolved>"
    assert str(Token("getatt", "Ep", "EndpointName")) == "${Ep.EndpointName}"


# -- resolution that cannot blow up -------------------------------------------------------------------------


def _doubling_chain(count: int) -> str:
    lines = ["Resources:"]
    for index in range(count):
        previous = f"!GetAtt E{index - 1}.EndpointName"
        name = "base" if index == 0 else f"!Join ['', [{previous}, {previous}]]"
        lines += [f"  E{index}:", "    Type: AWS::SageMaker::Endpoint", "    Properties:",
                  f"      EndpointName: {name}", "      EndpointConfigName: c"]
    return "\n".join(lines) + "\n"


def test_each_attribute_is_resolved_once():
    """Each name is its predecessor's twice: resolved naively that is 2**40 lookups and a terabyte string."""
    resolver = Resolver(parse(_doubling_chain(40)))
    calls = []
    original = resolver._attribute

    def counting(logical_id, attribute):
        calls.append(logical_id)
        return original(logical_id, attribute)

    resolver._attribute = counting
    assert resolver.get_att("E8", "EndpointName") == "base" * 2 ** 8
    # Past 4 KB a name is no longer spelt out: it stays symbolic (built from an earlier name), never a guess.
    assert not isinstance(resolver.get_att("E39", "EndpointName"), str)
    assert sorted(calls) == sorted(f"E{index}" for index in range(40))


def test_a_string_longer_than_the_bound_is_unknown():
    assert text(["x" * MAX_RESOLVED_LENGTH]) == "x" * MAX_RESOLVED_LENGTH
    assert text(["x" * MAX_RESOLVED_LENGTH, "y"]) is UNKNOWN
    assert text([Token("param", "P" * MAX_RESOLVED_LENGTH)]) is UNKNOWN


def test_a_very_long_chain_of_names_stays_symbolic_past_the_depth_limit():
    lines = ["Resources:", "  E0:", "    Type: AWS::SageMaker::Endpoint", "    Properties: {EndpointName: base}"]
    for index in range(1, 300):
        lines += [f"  E{index}:", "    Type: AWS::SageMaker::Endpoint",
                  f"    Properties: {{EndpointName: !GetAtt E{index - 1}.EndpointName}}"]
    resolver = Resolver(parse("\n".join(lines) + "\n"))
    assert resolver.get_att("E50", "EndpointName") == "base"
    fresh = Resolver(parse("\n".join(lines) + "\n"))  # no RecursionError, and no string it cannot know
    name = fresh.get_att("E299", "EndpointName")
    assert isinstance(name, Token) and name.kind == "getatt"


CYCLES = {
    "self": ("""\
        Resources:
          Model:
            Type: AWS::SageMaker::Model
            Properties:
              ModelName: !GetAtt Model.ModelName
        """, "Model", "circular reference: Model -> Model", 2),
    "pair": ("""\
        Resources:
          Endpoint:
            Type: AWS::SageMaker::Endpoint
            Properties:
              EndpointName: !GetAtt Config.EndpointConfigName
              EndpointConfigName: c
          Config:
            Type: AWS::SageMaker::EndpointConfig
            Properties:
              EndpointConfigName: !Join ['-', [!GetAtt Endpoint.EndpointName, config]]
        """, "Endpoint", "circular reference: Config -> Endpoint -> Config", 7),
    "sub": ("""\
        Resources:
          Endpoint:
            Type: AWS::SageMaker::Endpoint
            Properties:
              EndpointName: !Sub "${Endpoint.EndpointName}-x"
              EndpointConfigName: c
        """, "Endpoint", "circular reference: Endpoint -> Endpoint", 2),
}


@pytest.mark.parametrize("case", sorted(CYCLES))
def test_circular_references_name_the_cycle(case):
    from auditor.sources.intrinsics import CircularReference

    source, start, message, line = CYCLES[case]
    resolver = Resolver(parse(textwrap.dedent(source)))
    attribute = {"Model": "ModelName", "Endpoint": "EndpointName"}[start]
    with pytest.raises(CircularReference) as raised:
        resolver.get_att(start, attribute)
    assert (raised.value.message, raised.value.line) == (message, line)


@pytest.mark.parametrize("case", sorted(CYCLES))
def test_a_circular_template_is_one_error_for_its_file(case, tmp_path, monkeypatch):
    from auditor.lint import lint_paths
    from auditor.rules import load_rules

    source, _, message, line = CYCLES[case]
    (tmp_path / "cycle.yaml").write_text(textwrap.dedent(source))
    monkeypatch.chdir(tmp_path)
    result = lint_paths(["cycle.yaml"], load_rules())
    assert [(error.file, error.line, error.message) for error in result.errors] == [("cycle.yaml", line, message)]


@pytest.mark.parametrize(("written", "read"), [
    ("", False), ("DisableScaleIn: true", True), ("DisableScaleIn: 'False'", False),
    ("DisableScaleIn: 'yes'", None), ("DisableScaleIn: !Ref Flag", None),
])
def test_disable_scale_in_is_a_template_boolean(written, read):
    """Absent is CloudFormation's default (false); only true/false in any case are booleans, anything else unknown."""
    from auditor.sources.cloudformation import read_template

    source = textwrap.dedent(f"""\
        Parameters:
          Flag: {{Type: String}}
        Resources:
          Policy:
            Type: AWS::ApplicationAutoScaling::ScalingPolicy
            Properties:
              PolicyName: p
              PolicyType: TargetTrackingScaling
              TargetTrackingScalingPolicyConfiguration:
                TargetValue: 70
                {written}
        """)
    model = read_template(parse(source), file="t.yaml", scope="t.yaml", text=source)
    assert [policy.disable_scale_in for policy in model.scaling_policies] == [read]


@pytest.mark.parametrize(("value", "read"), [
    (3, 3), ("3", 3), (3600.0, 3600), (1.5, None), (True, None), ("-1", None), (" 3", None), ("3.0", None),
    ("\u00b2", None), ("\u0663", None), (None, None), (Token("param", "Size"), None),
])
def test_integer_is_a_whole_number_or_nothing(value, read):
    """A fraction is not rounded, and what str.isdigit takes but int() does not (a superscript) is no crash."""
    assert integer(value) == read and type(integer(value)) is type(read)


@pytest.mark.parametrize(("value", "intrinsic"), [
    ({"Ref": "X"}, True), ({"Condition": "C"}, True), ({"Fn::FindInMap": ["M", "a", "b"]}, True),
    ({"Fn::GetStackOutput": {}}, True), ({"Fn::Unknown": 1}, False), ({"Ref": "X", "Other": 1}, False),
    ({"Variables": {"A": "b"}}, False), ("Ref", False),
])
def test_is_intrinsic_knows_every_function_and_only_them(value, intrinsic):
    assert is_intrinsic(value) is intrinsic
