"""Runs mypy on t10ir/ (configured in pyproject.toml), so that `make test` keeps the
package type-clean as it keeps ruff and lit clean."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_is_clean_on_t10ir() -> None:
    mypy = Path(sys.executable).parent / "mypy"
    assert mypy.exists(), f"mypy is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(mypy), "--no-incremental"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
