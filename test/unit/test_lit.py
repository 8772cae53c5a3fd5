"""Runs the lit/FileCheck suite under test/lit, so that one pytest command runs everything."""

import os
import subprocess
import sys
from pathlib import Path

LIT_DIR = Path(__file__).resolve().parents[1] / "lit"


def test_lit_suite() -> None:
    bin_dir = Path(sys.executable).parent
    lit = bin_dir / "lit"
    assert lit.exists(), f"lit is not installed next to {sys.executable}"
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        [str(lit), "-q", "-j", str(os.cpu_count() or 2), str(LIT_DIR)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
