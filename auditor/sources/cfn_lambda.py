"""Lambda functions in templates: what each runs, what invokes it synchronously, its provisioned concurrency.

A function serving a model pays its cold start (loading the model) on every new execution environment;
provisioned concurrency keeps environments warm, and Application Auto Scaling sizes it. The template
gives all three sides: ``AWS::Lambda::Function`` and SAM's ``AWS::Serverless::Function`` (with
``AutoPublishAlias`` and ``ProvisionedConcurrencyConfig``), ``AWS::Lambda::Alias``/``Version`` with
``ProvisionedConcurrencyConfig``, and the callers that wait for an answer: API Gateway (SAM ``Api`` and
``HttpApi`` events, methods and integrations naming the function, invoke permissions for
``apigateway.amazonaws.com``), function URLs, and load balancer target groups of type ``lambda``.
SAM functions inherit what the template's ``Globals.Function`` declares, as the SAM transform does.
"""

from __future__ import annotations

from ..model import Function, ProvisionedConcurrency
from .intrinsics import Token, is_intrinsic, referenced

SOURCE = "cloudformation"
FUNCTION_TYPES = ("AWS::Lambda::Function", "AWS::Serverless::Function")
DEFAULT_MEMORY_MB = 128
SAM_SYNCHRONOUS_EVENTS = {"Api": "API Gateway", "HttpApi": "API Gateway"}
SAM_GLOBAL_PROPERTIES = ("MemorySize", "PackageType", "AutoPublishAlias", "ProvisionedConcurrencyConfig",
                         "FunctionUrlConfig", "SnapStart")
"""``Globals.Function`` properties this reader uses (the SAM transform copies them into every function)."""
PRINCIPALS = {"apigateway.amazonaws.com": "API Gateway", "elasticloadbalancing.amazonaws.com": "a load balancer"}


class LambdaReader:
    """Reads the Lambda side of one template into ``reader.model`` (``reader``: the template reader)."""

    def __init__(self, reader):
        self.reader = reader
        globals_ = reader.document.get("Globals") if isinstance(reader.document, dict) else None
        inherited = globals_.get("Function") if isinstance(globals_, dict) else None
        self.functions = {}
        """Logical ID -> the function's properties as the service sees them (SAM globals applied)."""
        self.written = {}
        """Logical ID -> its properties as written (where fixes edit)."""
        for logical_id, properties in reader.of_type(*FUNCTION_TYPES):
            self.written[logical_id] = properties
            serverless = reader.resources[logical_id].get("Type") == "AWS::Serverless::Function"
            self.functions[logical_id] = with_globals(properties, inherited) if serverless else properties

    def read(self) -> None:
        triggers = self.synchronous_triggers()
        concurrency = self.provisioned_concurrency()
        with_concurrency = {pc.function_key for pc in concurrency}
        qualifiers = self.qualifiers()
        for logical_id, properties in self.functions.items():
            key = self.reader.resolver.ref(logical_id)
            memory = self.reader.value(properties.get("MemorySize", DEFAULT_MEMORY_MB))
            package = self.reader.value(properties.get("PackageType"))
            if package is None and "ImageUri" in properties:
                package = "Image"
            self.reader.model.functions.append(Function(
                source=SOURCE,
                location=self.reader.resource_location(logical_id),
                document_path=self.reader.written_path(logical_id, self.written[logical_id]),
                name=logical_id if isinstance(key, Token) else str(key),
                key=key,
                package_type=package if isinstance(package, str) else (None if package is not None else "Zip"),
                memory_mb=memory if isinstance(memory, int) and not isinstance(memory, bool) else None,
                synchronous_trigger=triggers.get(logical_id),
                provisioned_concurrency=key in with_concurrency,
                snap_start=self.snap_start(properties),
                qualifier_keys=qualifiers.get(key, set()),
            ))
        self.reader.model.provisioned_concurrency.extend(concurrency)

    def snap_start(self, properties: dict) -> bool:
        settings = properties.get("SnapStart")
        return isinstance(settings, dict) and self.reader.value(settings.get("ApplyOn")) == "PublishedVersions"

    # -- callers ----------------------------------------------------------------------------------

    def synchronous_triggers(self) -> dict:
        """Function logical ID -> what invokes it and waits for the answer."""
        found: dict = {}

        def note(targets, what: str):
            for logical_id in targets:
                if logical_id in self.functions:
                    found.setdefault(logical_id, what)

        for logical_id, properties in self.functions.items():
            events = properties.get("Events")
            for event in events.values() if isinstance(events, dict) else ():
                if isinstance(event, dict) and event.get("Type") in SAM_SYNCHRONOUS_EVENTS:
                    note([logical_id], SAM_SYNCHRONOUS_EVENTS[event["Type"]])
            if isinstance(properties.get("FunctionUrlConfig"), dict):
                note([logical_id], "a function URL")
        for _, properties in self.reader.of_type("AWS::Lambda::Url"):
            note(referenced(properties.get("TargetFunctionArn")), "a function URL")
        for _, properties in self.reader.of_type("AWS::Lambda::Permission"):
            principal = self.reader.value(properties.get("Principal"))
            if principal in PRINCIPALS and self.reader.value(properties.get("Action")) == "lambda:InvokeFunction":
                note(referenced(properties.get("FunctionName")), PRINCIPALS[principal])
        for _, properties in self.reader.of_type("AWS::ApiGateway::Method"):
            integration = properties.get("Integration")
            if isinstance(integration, dict):
                note(referenced(integration.get("Uri")), "API Gateway")
        for _, properties in self.reader.of_type("AWS::ApiGatewayV2::Integration"):
            note(referenced(properties.get("IntegrationUri")), "API Gateway")
        for _, properties in self.reader.of_type("AWS::ElasticLoadBalancingV2::TargetGroup"):
            if self.reader.value(properties.get("TargetType")) == "lambda":
                note(referenced(properties.get("Targets")), "a load balancer")
        return found

    def qualifiers(self) -> dict:
        """Function key -> the alias names and versions the template publishes for it."""
        found: dict = {}
        for logical_id, properties in self.functions.items():
            if "AutoPublishAlias" in properties:
                found.setdefault(self.reader.resolver.ref(logical_id), set()).add(
                    self.reader.value(properties["AutoPublishAlias"]))
        for kind in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
            for logical_id, properties in self.reader.of_type(kind):
                qualifier = properties.get("Name") if kind == "AWS::Lambda::Alias" else \
                    {"Fn::GetAtt": [logical_id, "Version"]}
                found.setdefault(self.reader.value(properties.get("FunctionName")), set()).add(
                    self.reader.value(qualifier))
        return found

    # -- provisioned concurrency -----------------------------------------------------------------

    def provisioned_concurrency(self) -> list:
        found = []
        for logical_id, properties in self.functions.items():
            alias = properties.get("AutoPublishAlias")
            settings = properties.get("ProvisionedConcurrencyConfig")
            if alias is not None and isinstance(settings, dict):
                found.append(self.concurrency(logical_id, self.written[logical_id], settings, logical_id, alias,
                                              "alias"))
        for logical_id, properties in self.reader.of_type("AWS::Lambda::Alias"):
            settings = properties.get("ProvisionedConcurrencyConfig")
            if isinstance(settings, dict):
                latest = self.reader.value(properties.get("FunctionVersion")) == "$LATEST"
                found.append(self.concurrency(logical_id, properties, settings, properties.get("FunctionName"),
                                              properties.get("Name"), "latest" if latest else "alias"))
        for logical_id, properties in self.reader.of_type("AWS::Lambda::Version"):
            settings = properties.get("ProvisionedConcurrencyConfig")
            if isinstance(settings, dict):
                found.append(self.concurrency(logical_id, properties, settings, properties.get("FunctionName"),
                                              {"Fn::GetAtt": [logical_id, "Version"]}, "version"))
        return found

    def concurrency(self, logical_id: str, properties: dict, settings: dict, function, qualifier,
                    kind: str) -> ProvisionedConcurrency:
        """One provisioned concurrency setting; ``function`` is a logical ID (SAM) or a FunctionName value."""
        reader = self.reader
        function_key = reader.resolver.ref(function) if isinstance(function, str) and function in self.functions \
            else reader.value(function)
        qualifier_key = reader.value(qualifier)
        executions = reader.value(settings.get("ProvisionedConcurrentExecutions"))
        location = reader.resource_location(logical_id, "Properties.ProvisionedConcurrencyConfig")
        shown_function = _shown(function_key, function if isinstance(function, str) else None)
        shown_qualifier = _shown(qualifier_key, None)
        return ProvisionedConcurrency(
            source=SOURCE,
            location=location,
            document_path=reader.written_path(logical_id, properties),
            function=shown_function,
            function_key=function_key,
            qualifier=shown_qualifier,
            qualifier_key=qualifier_key,
            qualifier_kind=kind,
            executions=executions if isinstance(executions, int) and not isinstance(executions, bool) else None,
            scaling_resource_id=f"function:{function_key}:{qualifier_key}",
        )


def _shown(key, logical_id: str | None) -> str | None:
    if isinstance(key, Token) and key.kind == "ref":
        return key.name
    return str(key) if key is not None else logical_id


def with_globals(properties: dict, inherited) -> dict:
    """``properties`` of a SAM function with ``Globals.Function`` applied: the function's own values win, and
    maps are merged key by key (the SAM transform's rules for the properties read here)."""
    if not isinstance(inherited, dict):
        return properties
    merged = dict(properties)
    for name in SAM_GLOBAL_PROPERTIES:
        if name not in inherited:
            continue
        own, shared = properties.get(name), inherited[name]
        if own is None:
            merged[name] = shared
        elif isinstance(own, dict) and isinstance(shared, dict) and not is_intrinsic(own) and not is_intrinsic(shared):
            merged[name] = {**shared, **own}
    return merged
