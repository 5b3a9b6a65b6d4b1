"""The README's snippet runs as written, from the repository root."""

from __future__ import annotations

import contextlib
import io
import os
import re

from writ_pytest_support import REPO


def test_readme_snippet_runs() -> None:
    readme = (REPO / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", readme, re.S)
    assert snippet is not None
    cwd = os.getcwd()
    out = io.StringIO()
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(out):
            exec(compile(snippet.group(1), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert out.getvalue().strip() == (
        "allow ['agent-tools', 'humans-within-clearance'] {'ttl': datetime.timedelta(seconds=900)}"
    )
