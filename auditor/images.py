"""Classify a container image URI as CPU-only, GPU or Neuron, from its repository and tag.

Only what an image's name says for certain counts: SageMaker's first-party CPU-only framework
and algorithm repositories, and deep-learning-container tags that name their device
(``...-cpu-py310``, ``...-gpu-py310-cu118``). Custom images say nothing, so they are ``None``.
"""

from __future__ import annotations

import re

# SageMaker first-party repositories whose images only run on CPU for inference.
CPU_ONLY_REPOSITORIES = frozenset(
    {
        "sagemaker-scikit-learn",
        "sagemaker-xgboost",
        "xgboost",
        "sagemaker-sparkml-serving",
        "linear-learner",
        "factorization-machines",
        "kmeans",
        "pca",
        "randomcutforest",
        "ipinsights",
        "knn",
        "ntm",
        "lda",
        "blazingtext",
        "sagemaker-rl-vw-container",
    }
)

_DEVICE_IN_TAG = re.compile(r"(?:^|[-_.])(cpu|gpu|neuronx?|inf|cu\d+)(?:$|[-_.])")


def classify(image) -> str | None:
    """``cpu``, ``gpu``, ``neuron`` or ``None`` when the image's name does not say."""
    if not isinstance(image, str) or not image:
        return None
    name = image.split("@", 1)[0]
    repository_path, _, tag = name.rpartition(":")
    if "/" in tag or not repository_path:  # a registry port, not a tag
        repository_path, tag = name, ""
    repository = repository_path.rsplit("/", 1)[-1]
    if "${" in repository:
        return None
    if repository in CPU_ONLY_REPOSITORIES:
        return "cpu"
    if "${" in tag:
        return None
    device = _DEVICE_IN_TAG.search(tag.lower())
    if device:
        word = device.group(1)
        if word == "cpu":
            return "cpu"
        if word.startswith("neuron") or word == "inf":
            return "neuron"
        return "gpu"
    if "neuron" in repository:
        return "neuron"
    return None


def cpu_only(images: list) -> bool | None:
    """True when there is at least one image and every image is known to be CPU-only."""
    if not images:
        return None
    kinds = [classify(image) for image in images]
    if any(kind is None for kind in kinds):
        return None
    return all(kind == "cpu" for kind in kinds)
