"""Layer rules (pyproject.toml [tool.importlinter]): domain modules import no Django, directly or
through another module; core imports no other app."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_import_contracts_are_kept() -> None:
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run(
        [lint_imports, "--no-logo", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_every_domain_module_is_covered_by_the_contract() -> None:
    domains = sorted(p.relative_to(ROOT) for p in (ROOT / "embudo").glob("*/domain.py"))
    assert domains, "no domain modules found"
    config = (ROOT / "pyproject.toml").read_text()
    assert 'source_modules = ["embudo.*.domain"]' in config
