"""The layout itself: the README's map of the code matches the tree, and a test name finds one test."""

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_lists_every_module_of_the_server_and_no_other():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"kubewatch/[\w/]+\.py", section))
    assert listed == {str(path.relative_to(ROOT)) for path in ROOT.glob("kubewatch/**/*.py")}


def test_no_two_test_functions_share_a_name():
    where = defaultdict(list)
    for path in sorted(ROOT.glob("tests/test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                where[node.name].append(path.name)
    assert {name: files for name, files in where.items() if len(files) > 1} == {}
