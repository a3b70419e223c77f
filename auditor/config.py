"""Configuration: ``[tool.sagewise]`` in ``pyproject.toml``, ``.sagewise.yaml``, or ``--config FILE``.

Found by walking up from the working directory (the nearest wins; in one directory
``.sagewise.yaml`` wins over ``pyproject.toml``). Every key is checked and an unknown or mistyped
key is an error naming the file and the key: a misspelt ``ignore`` must not silently ignore
nothing. The checks are written out here rather than run through jsonschema so that a run with a
config file starts as fast as one without.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

FAIL_ON = ("error", "warning", "info", "never")
CONFIG_FILES = (".sagewise.yaml", ".sagewise.yml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration file is invalid; the message names the file and the key."""


@dataclass
class Config:
    path: Path | None = None
    select: list | None = None
    extend_select: list = field(default_factory=list)
    ignore: list = field(default_factory=list)
    per_path_ignores: dict = field(default_factory=dict)
    fail_on: str = "warning"
    rules: dict = field(default_factory=dict)
    """Rule id -> {param: value, "severity": ...}."""
    extra_rules: list = field(default_factory=list)
    exclude: list = field(default_factory=list)

    @property
    def root(self) -> Path:
        """The project root: the config file's directory, else the enclosing git work tree, else cwd.

        Globs (``exclude``, ``per-path-ignores``) match paths relative to it, and fingerprints use
        those relative paths, so neither depends on where sagewise is run from.
        """
        if self.path:
            return self.path.parent.resolve()
        cwd = Path.cwd().resolve()
        for directory in (cwd, *cwd.parents):
            if (directory / ".git").exists():
                return directory
        return cwd


def _load_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _load_yaml(path: Path):
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None


def read_file(path: Path) -> dict | None:
    """The sagewise settings in ``path``, or None when it is a pyproject.toml without them."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.suffix == ".toml":
        data = _load_toml(path)
        if path.name == "pyproject.toml":
            data = data.get("tool", {}).get("sagewise")
            if data is None:
                return None
    else:
        data = _load_yaml(path)
        if data is None:
            data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of settings")
    return data


def find(start: Path) -> Path | None:
    """The nearest config file at or above ``start`` that holds sagewise settings."""
    for directory in (start, *start.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if candidate.is_file() and (name != "pyproject.toml" or read_file(candidate) is not None):
                return candidate
    return None


def load(explicit: str | None = None, start: Path | None = None) -> Config:
    path = Path(explicit) if explicit else find(start or Path.cwd())
    if path is None:
        return Config()
    data = read_file(path)
    return parse(data or {}, path)


def _string_list(data: dict, key: str, path: Path) -> list:
    value = data[key]
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: {key}: expected a list of strings")
    return value


def parse(data: dict, path: Path) -> Config:
    config = Config(path=path)
    for key in data:
        if key not in _KEYS:
            raise ConfigError(f"{path}: {key}: unknown setting (valid: {', '.join(sorted(_KEYS))})")
    if "select" in data:
        config.select = _string_list(data, "select", path)
    if "extend-select" in data:
        config.extend_select = _string_list(data, "extend-select", path)
    if "ignore" in data:
        config.ignore = _string_list(data, "ignore", path)
    if "exclude" in data:
        config.exclude = _string_list(data, "exclude", path)
    if "extra-rules" in data:
        config.extra_rules = [str((path.parent / item)) for item in _string_list(data, "extra-rules", path)]
    if "fail-on" in data:
        if data["fail-on"] not in FAIL_ON:
            raise ConfigError(f"{path}: fail-on: expected one of {', '.join(FAIL_ON)}")
        config.fail_on = data["fail-on"]
    if "per-path-ignores" in data:
        value = data["per-path-ignores"]
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: per-path-ignores: expected a mapping of glob -> list of rules")
        config.per_path_ignores = {glob: _string_list(value, glob, path) for glob in value}
    if "rules" in data:
        value = data["rules"]
        if not isinstance(value, dict) or not all(isinstance(settings, dict) for settings in value.values()):
            raise ConfigError(f"{path}: rules: expected a mapping of rule id -> settings")
        config.rules = {str(rule): dict(settings) for rule, settings in value.items()}
    return config


_PARAM_TYPES = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
}


def _inferred_type(default) -> str | None:
    if isinstance(default, bool):
        return "boolean"
    if isinstance(default, (int, float)):
        return "number"
    return "string" if isinstance(default, str) else None


def _param_problem(spec: dict, value) -> str | None:
    """Why ``value`` does not fit a rule parameter's declared type and pattern (None: it fits)."""
    if value is None:
        return None
    expected = spec.get("type") or _inferred_type(spec.get("default"))
    if expected is None:
        return None
    if not isinstance(value, _PARAM_TYPES[expected]) or (isinstance(value, bool) and expected != "boolean"):
        return f"expected a {expected}, got {value!r}"
    pattern = spec.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        return f"{value!r} does not match {pattern}"
    return None


_KEYS = {"select", "extend-select", "ignore", "per-path-ignores", "fail-on", "rules", "extra-rules", "exclude"}


def rule_settings(config: Config, rules: list) -> tuple[dict, dict]:
    """Check ``config.rules`` against the loaded rules; return (params by id, severity by id)."""
    by_selector = {}
    for rule in rules:
        by_selector[rule.id] = rule
        by_selector[rule.name] = rule
    params: dict = {}
    severities: dict = {}
    where = config.path or "configuration"
    for selector, settings in config.rules.items():
        rule = by_selector.get(selector)
        if rule is None:
            raise ConfigError(f"{where}: rules.{selector}: no such rule")
        for name, value in settings.items():
            if name == "severity":
                if value not in ("error", "warning", "info"):
                    raise ConfigError(f"{where}: rules.{selector}.severity: expected error, warning or info")
                severities[rule.id] = value
                continue
            if name not in rule.params:
                valid = ", ".join(sorted(rule.params)) or "none"
                raise ConfigError(f"{where}: rules.{selector}.{name}: unknown parameter (valid: {valid}, severity)")
            problem = _param_problem(rule.params[name], value)
            if problem:
                raise ConfigError(f"{where}: rules.{selector}.{name}: {problem}")
            params.setdefault(rule.id, {})[name] = value
    return params, severities
