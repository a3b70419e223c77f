"""Training jobs started by SageMaker Pipeline definitions (``{"Version": ..., "Steps": [...]}``).

A step of ``Type: Training`` carries a CreateTrainingJob request (without the name) in
``Arguments``; condition steps nest further steps in ``IfSteps`` / ``ElseSteps``.
"""

from __future__ import annotations

from .training import PipelineDefinition, training_job


def is_pipeline(document) -> bool:
    return isinstance(document, dict) and isinstance(document.get("Steps"), list) and (
        "Version" in document or "Parameters" in document
    )


def training_steps(steps, path):
    """(step name, key path of the step) for every training step, including those inside conditions."""
    for index, step in enumerate(steps if isinstance(steps, list) else ()):
        if not isinstance(step, dict):
            continue
        step_path = path + [index]
        if step.get("Type") == "Training" and isinstance(step.get("Arguments"), dict):
            yield str(step.get("Name", f"step {index}")), step_path
        arguments = step.get("Arguments")
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            for branch in ("IfSteps", "ElseSteps"):
                yield from training_steps(arguments.get(branch), step_path + ["Arguments", branch])


def training_jobs(definition, *, location, position, pipeline: str, base_path: tuple | None = (),
                  definition_path: tuple | None = None):
    """Training jobs of one pipeline definition; ``base_path``/``definition_path`` as for state machines."""
    dialect = PipelineDefinition()
    for name, step_path in training_steps(definition.get("Steps"), ["Steps"]):
        step = definition
        for key in step_path:
            step = step[key]
        base = f"{location.path}.Steps[{name}]" if location.path else f"Steps[{name}]"
        yield training_job(
            step["Arguments"],
            dialect,
            source="sagemaker-pipeline",
            location=location.at(base, *position(step_path)),
            request_path=step_path + ["Arguments"],
            position=position,
            container=f"pipeline {pipeline}, step {name!r}",
            label=name,
            document_path=() if base_path is None else tuple(base_path) + tuple(step_path) + ("Arguments",),
            definition_path=definition_path,
        )
