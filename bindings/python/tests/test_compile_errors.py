"""Policy sets that do not check: `writ.CompileError` with structured diagnostics."""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path

import pytest

import writ

SCHEMA = "schema {\n  entity Agent\n  entity Tool { size: Int }\n  action call: Agent -> Tool\n}\n"


def compile_error(sources: dict) -> writ.CompileError:
    with pytest.raises(writ.CompileError) as e:
        writ.PolicySet.from_sources(sources)
    return e.value


def test_diagnostics_are_structured_and_one_based() -> None:
    err = compile_error({"schema.writ": SCHEMA, "rules.writ": "permit Agent to call on Tool\n  when resource.sise > 1;\n"})
    assert isinstance(err, writ.Error)
    [d] = err.errors
    assert d.code == "E0002" or d.code.startswith("E")
    assert d.severity == "error"
    assert "`sise`" in d.message
    assert d.file == "rules.writ"
    # `resource.sise` on line 2 (1-based), `sise` at column 17 (1-based, in characters).
    assert (d.line, d.column) == (2, 17)
    assert (d.end_line, d.end_column) == (2, 21)
    assert d.lsp["range"]["start"] == {"line": 1, "character": 16}  # zero-based there
    assert d.lsp["code"] == d.code
    assert str(d).startswith("rules.writ:2:17: error[")
    assert err.diagnostics[0] is not None and err.summary.startswith("the policy set has 1 error(s); first: rules.writ:2:17")


def test_columns_count_characters() -> None:
    err = compile_error({"p.writ": SCHEMA + "// ünïcödé\npermit Agent to call on Tool when \"é\" == resource.nope;\n"})
    [d] = err.errors
    text = "permit Agent to call on Tool when \"é\" == resource.nope;"
    assert d.line == 7
    assert d.column == text.index("nope") + 1


def test_str_renders_like_the_cli(tmp_path: Path, writ_cli: str) -> None:
    (tmp_path / "schema.writ").write_text(SCHEMA)
    (tmp_path / "rules.writ").write_text("permit Agent to call on Tool when resource.size > \"one\";\npermit Nobody to call on Tool;\n")
    with pytest.raises(writ.CompileError) as e:
        writ.PolicySet.load(tmp_path)
    err = e.value
    assert len(err.errors) >= 2
    assert {d.file for d in err.errors} == {str(tmp_path / "rules.writ")}
    # `writ eval` prints the same report when the policies do not check.
    request = tmp_path / "request.json"
    request.write_text("{}")
    cli = subprocess.run(
        [writ_cli, "eval", str(tmp_path), "--request", str(request)], capture_output=True, text=True, check=False
    )
    assert cli.returncode != 0
    assert str(err).strip() == (cli.stdout + cli.stderr).strip()
    assert "the policies do not check: " in str(err)
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.diagnostics == err.diagnostics


def test_syntax_errors_are_all_reported() -> None:
    err = compile_error({"p.writ": SCHEMA + "permit Agent to call on Tool when ;\npermit Agent to on Tool;\n"})
    assert len(err.errors) >= 2
    assert all(d.file == "p.writ" and d.line >= 6 for d in err.errors)


def test_a_missing_path_is_a_compile_error(tmp_path: Path) -> None:
    with pytest.raises(writ.CompileError) as e:
        writ.PolicySet.load(tmp_path / "nowhere")
    assert e.value.errors
    assert "nowhere" in str(e.value)


def test_warnings_of_a_set_that_checks() -> None:
    p = writ.PolicySet.from_sources({"p.writ": SCHEMA + "permit Agent to call on Tool when true;\n"})
    assert all(isinstance(w, writ.Diagnostic) and w.severity == "warning" for w in p.warnings)


def test_from_sources_takes_only_text() -> None:
    with pytest.raises(TypeError):
        writ.PolicySet.from_sources({"p.writ": 5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        writ.PolicySet.from_sources(["p.writ"])  # type: ignore[arg-type]
