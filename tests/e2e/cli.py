"""Running the real `chengxin` command in a subprocess, as a user does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).with_name("chengxin"))


def run(env: dict[str, str], *args: str, check: bool = True,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`chengxin ARGS` in `env` (from `cwd`, default this process's folder); `check`: exit 0 or fail with stderr."""
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd)
    if check:
        assert done.returncode == 0, done.stderr
    return done
