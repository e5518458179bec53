"""Package structure: no module reaches into another's private names, no helper is copied.

Walks ``src/analysis`` with :mod:`ast` (nothing is imported), so a failure names the file and
line to fix.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "analysis"
MODULES = sorted(PACKAGE.rglob("*.py"))

#: helpers that exist once, where every module imports them from
SHARED_HELPERS = {
    "require_columns": "data/validation.py",
    "axes": "viz/style.py",
    "label_or": "viz/labels.py",
    "safe_ratio": "products/margin.py",
    "one_thread": "churn/models.py",
    "rounded": "report/records.py",
    "json_number": "report/records.py",
    "json_ready": "report/records.py",
    "top_records": "report/records.py",
}
#: the copies they replaced: defined nowhere
REPLACED = ("_require", "require", "_ax", "_label_or", "_check_columns", "summary_record")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path, src: Path) -> str:
    return ".".join(path.relative_to(src).parts[:-1])


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _is_module(dotted: str, src: Path) -> bool:
    """Whether ``dotted`` (``analysis.x.y``) names a module or package under ``src``."""
    rel = Path(*dotted.split("."))
    return (src / rel).with_suffix(".py").exists() or (src / rel / "__init__.py").exists()


def private_imports(path: Path, tree: ast.Module, src: Path = SRC) -> list[str]:
    """Every place ``path`` uses a private name of another module.

    - ``from m import _x`` (any module ``m``);
    - ``from analysis.a._m import x`` or ``import analysis.a._m`` from outside package ``analysis.a``;
    - ``alias._x`` where ``alias`` is a project module bound by an import.
    """
    where = path.relative_to(src)
    found, module_aliases = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found += [
                f"{where}:{node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if _private(a.name)
            ]
            found += _private_module(path, node.module, node.lineno, src)
            for a in node.names:
                full = f"{node.module}.{a.name}"
                if full.startswith("analysis") and _is_module(full, src):
                    module_aliases[a.asname or a.name] = full
        elif isinstance(node, ast.Import):
            for a in node.names:
                found += _private_module(path, a.name, node.lineno, src)
                if a.name.startswith("analysis") and a.asname:
                    module_aliases[a.asname] = a.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and _private(node.attr)
        ):
            found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def _private_module(path: Path, module: str, lineno: int, src: Path) -> list[str]:
    parts = module.split(".")
    for i, part in enumerate(parts):
        if _private(part) and parts[0] == "analysis":
            owner = ".".join(parts[:i])
            here = _package_of(path, src)
            if here != owner and not here.startswith(owner + "."):
                return [f"{path.relative_to(src)}:{lineno}: {module} is private to {owner}"]
    return []


def top_level_functions(tree: ast.Module):
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _code(fn: ast.FunctionDef) -> str:
    """The function without its name and docstring, for spotting copies."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return ast.dump(fn.args) + ast.dump(ast.Module(body=body, type_ignores=[]))


# ------------------------------------------------------------------ the checker itself
def _check_source(tmp_path, files: dict[str, str]) -> list[str]:
    src = tmp_path / "src"
    for rel, text in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return [f for p in sorted(src.rglob("*.py")) for f in private_imports(p, _tree(p), src)]


def test_the_checker_finds_each_kind_of_private_use(tmp_path):
    found = _check_source(
        tmp_path,
        {
            "analysis/__init__.py": "",
            "analysis/a/__init__.py": "",
            "analysis/a/_common.py": "def helper(): ...\n",
            "analysis/a/m.py": "from analysis.a._common import helper\ndef _h(): ...\n",
            "analysis/b/__init__.py": "",
            "analysis/b/n.py": (
                "import html as _html\n"  # a private alias of a public module is fine
                "from analysis.a import m\n"
                "from analysis.a.m import _h\n"
                "from analysis.a._common import helper\n"
                "x = m._h()\n"
            ),
        },
    )
    assert found == [
        "analysis/b/n.py:3: from analysis.a.m import _h",
        "analysis/b/n.py:4: analysis.a._common is private to analysis.a",
        "analysis/b/n.py:5: m._h",
    ]


# ------------------------------------------------------------------ the package
def test_no_module_uses_another_modules_private_names():
    found = [f for path in MODULES for f in private_imports(path, _tree(path))]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_no_private_helper_is_defined_in_two_modules():
    where = defaultdict(list)
    for path in MODULES:
        for fn in top_level_functions(_tree(path)):
            if _private(fn.name):
                where[fn.name].append(str(path.relative_to(PACKAGE)))
    repeated = {name: files for name, files in where.items() if len(files) > 1}
    assert not repeated, f"private helpers defined in more than one module: {repeated}"


def test_no_function_is_a_copy_of_another():
    where = defaultdict(list)
    for path in MODULES:
        for fn in top_level_functions(_tree(path)):
            where[_code(fn)].append(f"{path.relative_to(PACKAGE)}:{fn.name}")
    copies = [names for names in where.values() if len({n.split(":")[0] for n in names}) > 1]
    assert not copies, f"the same function in several modules: {copies}"


@pytest.mark.parametrize("name", sorted(SHARED_HELPERS))
def test_shared_helpers_are_defined_once(name):
    defined = [
        str(path.relative_to(PACKAGE))
        for path in MODULES
        for fn in top_level_functions(_tree(path))
        if fn.name == name
    ]
    assert defined == [SHARED_HELPERS[name]]


def test_the_replaced_copies_are_gone():
    left = [
        f"{path.relative_to(PACKAGE)}:{fn.name}"
        for path in MODULES
        for fn in top_level_functions(_tree(path))
        if fn.name in REPLACED
    ]
    assert not left


# ------------------------------------------------------------------ numpydoc on the public API
def _returns_value(fn) -> bool:
    """Whether ``fn`` itself (not a nested function) returns a value or yields."""
    todo = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
        value = node.value if isinstance(node, ast.Return) else None
        if value is not None and not (isinstance(value, ast.Constant) and value.value is None):
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False


def _arguments(fn) -> list[str]:
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return [n for n in names if n not in ("self", "cls")]


def _exempt(fn) -> bool:
    """Properties read as attributes; click commands' docstrings are the ``ccm --help`` text."""
    for d in fn.decorator_list:
        text = ast.unparse(d)
        if text in ("property", "cached_property", "functools.cached_property"):
            return True
        if (
            text.endswith((".setter", ".command", ".group"))
            or ".command(" in text
            or "group(" in text
        ):
            return True
    return False


def undocumented(path: Path) -> list[str]:
    """Public functions and methods of ``path`` lacking a numpydoc section they need, and public
    classes without a docstring."""
    out = []
    for node in _tree(path).body:
        if isinstance(node, ast.ClassDef) and not _private(node.name):
            if not ast.get_docstring(node):
                out.append(f"{node.name}: no docstring")
            members = [(f"{node.name}.{getattr(m, 'name', '')}", m) for m in node.body]
        else:
            members = [(getattr(node, "name", ""), node)]
        for name, fn in members:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if _private(fn.name) or fn.name.startswith("_") or _exempt(fn):
                continue
            doc = (ast.get_docstring(fn) or "") + "\n"
            lacking = [
                section
                for section, needed in (
                    ("Parameters", bool(_arguments(fn))),
                    ("Returns", _returns_value(fn) and "Yields\n" not in doc),
                )
                if needed and f"{section}\n" not in doc
            ]
            if not doc.strip():
                lacking.insert(0, "docstring")
            if lacking:
                out.append(f"{name}: {', '.join(lacking)}")
    return out


def test_the_docstring_check_sees_a_missing_section(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "def f(x):\n"
        '    """Sum.\n\n    Parameters\n    ----------\n    x : int\n        A number.\n    """\n'
        "    return x\n"
        "def g():\n    pass\n"
        "def _h(y):\n    return y\n"
        "class C:\n    def m(self, y):\n        '''M.'''\n",
        encoding="utf-8",
    )
    assert undocumented(src) == ["f: Returns", "g: docstring", "C: no docstring", "C.m: Parameters"]


def test_public_functions_have_parameters_and_returns_sections():
    """numpydoc on the public API: a summary, ``Parameters`` when a function takes any and
    ``Returns`` (or ``Yields``) when it gives something back."""
    found = [
        f"{path.relative_to(PACKAGE)}: {item}" for path in MODULES for item in undocumented(path)
    ]
    assert not found, f"{len(found)} public functions lack numpydoc sections:\n" + "\n".join(found)
