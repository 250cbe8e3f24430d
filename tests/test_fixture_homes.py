"""tests/conftest.py's table of fixture plugins says where every shared fixture lives and which
test modules use it; these tests keep that table true, read from the code with `ast`."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import PLUGINS

TESTS = Path(__file__).resolve().parent


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def _fixtures(path: Path) -> list[str]:
    return [node.name for node in _functions(path)
            if any("fixture" in ast.unparse(d) for d in node.decorator_list)]


def test_every_plugin_is_listed_with_exactly_the_fixtures_it_defines():
    defined = {path.stem: _fixtures(path) for path in sorted((TESTS / "plugins").glob("*.py"))
               if path.stem != "__init__"}
    assert sorted(PLUGINS) == sorted(defined)
    for name, (fixtures, _) in PLUGINS.items():
        assert sorted(fixtures) == sorted(defined[name]), f"tests/plugins/{name}.py"


def test_every_test_module_using_a_shared_fixture_is_named_beside_its_plugin():
    owner = {fixture: name for name, (fixtures, _) in PLUGINS.items() for fixture in fixtures}
    used: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TESTS.glob("test_*.py")):
        for function in _functions(path):
            for argument in function.args.args:
                if argument.arg in owner:
                    used[owner[argument.arg]].add(path.stem.removeprefix("test_"))
    for name, (_, users) in PLUGINS.items():
        assert sorted(users) == sorted(used[name]), f"tests/plugins/{name}.py"
