"""Small templates several test modules build on (imported as ``import sample_templates``)."""

from __future__ import annotations

import textwrap

M4_ENDPOINT = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Resources:
      Config:
        Type: AWS::SageMaker::EndpointConfig
        Properties:
          ProductionVariants:
            - VariantName: AllTraffic
              ModelName: my-model
              InstanceType: ml.m4.xlarge
              InitialInstanceCount: 1
      Endpoint:
        Type: AWS::SageMaker::Endpoint
        Properties:
          EndpointName: my-endpoint
          EndpointConfigName: !GetAtt Config.EndpointConfigName
    """)
"""An ml.m4 endpoint with no scalable target: SW101 on line 7 and SW302 on line 9."""


def with_resources(resources: str) -> str:
    """:data:`M4_ENDPOINT` plus more resources, given as YAML at the indentation of a logical ID."""
    return M4_ENDPOINT + textwrap.indent(textwrap.dedent(resources), "  ")


FIXED_TARGET = """\
    Target:
      Type: AWS::ApplicationAutoScaling::ScalableTarget
      Properties:
        ResourceId: endpoint/other/variant/AllTraffic
        ScalableDimension: sagemaker:variant:DesiredInstanceCount
        ServiceNamespace: sagemaker
        MinCapacity: 2
        MaxCapacity: 2
    """
"""A scalable target with MinCapacity = MaxCapacity (SW103) and no policy (SW102), for :func:`with_resources`."""

CLEAN = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  T:\n    Type: AWS::SNS::Topic\n'
"""A template with nothing for any rule to find."""


# What a repository holds besides templates; each one broke the pre-commit hook once (exit 2).
NOT_TEMPLATES = {
    "docker-compose.yml": textwrap.dedent("""\
        x-defaults: &defaults
          restart: always
          environment:
            LOG_LEVEL: info
        services:
          api:
            <<: *defaults
            image: registry.example.com/api:1.4
          worker:
            <<: *defaults
            image: registry.example.com/worker:1.4
        """),
    "mkdocs.yml": textwrap.dedent("""\
        site_name: Platform docs
        markdown_extensions:
          - pymdownx.emoji:
              emoji_index: !!python/name:material.extensions.emoji.twemoji
              emoji_generator: !!python/name:material.extensions.emoji.to_svg
        """),
    "k8s/deployment.yaml": textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: scorer}
        spec:
          template:
            spec:
              containers:
                - name: scorer
                  resources: {limits: {cpu: "2"}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: scorer}
        """),
    "chart/templates/service.yaml": textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ .Values.name }}
          labels:
        {{ include "chart.labels" . | indent 4 }}
        """),
    ".gitlab-ci.yml": textwrap.dedent("""\
        .test: &test
          stage: test
          script: [make test]
        unit:
          <<: *test
        """),
    "tsconfig.json": '{\n  // compiler options\n  "compilerOptions": {"strict": true,},\n}\n',
    "empty.yaml": "",
    "comments-only.yaml": "# nothing here yet\n",
    "package.json": '{"name": "infra", "version": "1.0.0"}\n',
    ".github/workflows/ci.yml": "on: [push]\njobs:\n  test:\n    steps:\n      - run: make test\n",
}
