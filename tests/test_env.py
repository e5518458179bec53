"""The install: pyproject's ranges, environment.yml and the lock files agree; every import is declared."""

import ast
import importlib.metadata as md
import re
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from analysis.config import PROJECT_ROOT

LOCKS = ("report", "test", "lab")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project():
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


def _requirements(extras=("dev", "scale")) -> dict[str, Requirement]:
    conf = _project()
    reqs = list(conf["dependencies"])
    for extra in extras:
        reqs += conf["optional-dependencies"][extra]
    return {_norm(r.name): r for r in map(Requirement, reqs)}


def _environment():
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    specs, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip = dep["pip"]
        elif not dep.startswith(("python", "pip")):
            r = Requirement(dep)
            specs[_norm(r.name)] = str(r.specifier)
    for dep in pip:
        if not dep.startswith("-e"):
            r = Requirement(dep)
            specs[_norm(r.name)] = str(r.specifier)
    return specs, pip


def _lock(name: str) -> dict[str, Version]:
    """name -> version of the lock lines that apply to this Python."""
    pins = {}
    for line in (PROJECT_ROOT / "requirements" / f"{name}.txt").read_text().splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate():
            pins[_norm(req.name)] = Version(str(req.specifier).removeprefix("=="))
    return pins


def test_environment_mirrors_pyproject():
    specs, _ = _environment()
    want = {n: str(r.specifier) for n, r in _requirements().items()}
    assert specs == want


def test_environment_installs_the_package_editable():
    _, pip = _environment()
    assert "-e ." in pip


def test_pyproject_uses_ranges_and_the_locks_pin_versions_inside_them():
    for lock, extras in (("report", ()), ("test", ("dev", "spark", "scale")), ("lab", ("lab",))):
        pins = _lock(lock)
        for name, req in _requirements(extras).items():
            assert name in pins, f"{name} missing from requirements/{lock}.txt (run make lock)"
            assert req.specifier.contains(pins[name], prereleases=True), (lock, name, pins[name])


def test_runtime_lock_leaves_out_spark_jupyterlab_and_test_tools():
    pins = _lock("report")
    for name in ("pyspark", "pyarrow", "jupyterlab", "pytest", "ruff", "mplfonts"):
        assert name not in pins, name


def _imported_top_level(paths) -> set[str]:
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"analysis", "__future__"}


def test_every_imported_package_is_declared():
    declared = set(_requirements(("dev", "spark", "lab", "scale")))
    dists = md.packages_distributions()
    src = list((PROJECT_ROOT / "src").rglob("*.py"))
    missing = {}
    for module in _imported_top_level(src):
        owners = {_norm(d) for d in dists.get(module, [module])}
        if not owners & declared:
            missing[module] = sorted(owners)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
