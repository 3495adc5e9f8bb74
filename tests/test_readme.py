"""Code blocks in the README marked `<!-- readme-test -->` run as written and pass their asserts."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"<!-- readme-test -->\n```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_readme_has_tested_examples_that_check_what_they_show():
    assert BLOCKS and all("assert " in block for block in BLOCKS)


@pytest.mark.parametrize("code", BLOCKS)
def test_readme_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # each example asserts its own outcome
