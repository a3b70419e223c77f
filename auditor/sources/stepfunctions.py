"""Training jobs started by Step Functions state machines (Amazon States Language).

A task whose ``Resource`` is ``arn:<partition>:states:::sagemaker:createTrainingJob[.sync]`` carries
a CreateTrainingJob request in ``Parameters`` (JSONPath) or ``Arguments`` (JSONata). States nest
inside ``Parallel`` branches and ``Map`` iterators, so the walk is recursive.
"""

from __future__ import annotations

import re

from .training import StatesLanguage, training_job

_TRAINING_TASK = re.compile(r"^arn:.*:states:::sagemaker:createTrainingJob(\.sync)?$")


def is_state_machine(document) -> bool:
    return isinstance(document, dict) and isinstance(document.get("States"), dict) and "StartAt" in document


def tasks(definition, pattern: re.Pattern, path=()):
    """(state name, key path of the state, the state, request key) of every Task whose ``Resource`` matches."""
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        state_path = list(path) + ["States", name]
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str) and pattern.match(resource):
            yield name, state_path, state, "Arguments" if "Arguments" in state else "Parameters"
        branches = state.get("Branches")
        for index, branch in enumerate(branches if isinstance(branches, list) else ()):
            yield from tasks(branch, pattern, state_path + ["Branches", index])
        for key in ("Iterator", "ItemProcessor"):
            if isinstance(state.get(key), dict):
                yield from tasks(state[key], pattern, state_path + [key])


def training_jobs(definition, *, location, position, machine: str, base_path: tuple | None = (),
                  definition_path: tuple | None = None):
    """Training jobs of one state machine. ``location`` locates the machine; paths are relative to it.

    ``base_path`` is where the definition sits in its document (inline ``Definition``), and
    ``definition_path`` where the string holding it is (``DefinitionString``), for fixes; a
    ``base_path`` of ``None`` means the jobs cannot be located for a fix.
    """
    dialect = StatesLanguage()
    for name, state_path, state, key in tasks(definition, _TRAINING_TASK):
        state_location = location.at(
            _join(location.path, "States." + name if len(state_path) == 2 else _path_text(state_path)),
            *position(state_path),
        )
        yield training_job(
            state.get(key, {}),
            dialect,
            source="stepfunctions",
            location=state_location,
            request_path=state_path + [key],
            position=position,
            container=f"state machine {machine}, state {name!r}",
            label=name,
            document_path=() if base_path is None else tuple(base_path) + tuple(state_path) + (key,),
            definition_path=definition_path,
        )


def _path_text(path) -> str:
    return ".".join(f"[{step}]" if isinstance(step, int) else str(step) for step in path).replace(".[", "[")


def _join(base: str, suffix: str) -> str:
    return f"{base}.{suffix}" if base else suffix
