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
