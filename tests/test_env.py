"""pyproject.toml and environment.yml pin the same packages at the same versions."""
import re
import tomllib

import yaml

from analysis.config import PROJECT_ROOT


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_pins(extras=("dev",)):
    conf = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(conf["dependencies"])
    for extra in extras:
        reqs += conf["optional-dependencies"][extra]
    return dict((_norm(n), v) for n, v in (r.split("==") for r in reqs))


def _environment_pins():
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    pins, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip = dep["pip"]
        elif "=" in dep and not dep.startswith("python"):
            name, version = dep.split("=", 1)
            pins[_norm(name)] = version
    for dep in pip:
        if "==" in dep:
            name, version = dep.split("==")
            pins[_norm(name)] = version
    return pins, pip


def test_environment_mirrors_pyproject():
    pins, _ = _environment_pins()
    assert pins == _pyproject_pins()


def test_environment_installs_the_package_editable():
    _, pip = _environment_pins()
    assert "-e ." in pip


def test_every_dependency_is_pinned():
    conf = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    reqs = conf["dependencies"] + [r for extra in conf["optional-dependencies"].values() for r in extra]
    assert all("==" in r for r in reqs), [r for r in reqs if "==" not in r]
