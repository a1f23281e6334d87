"""libquic installed as ``pip install .`` installs it: from a copy of the
project's tracked files (so that no build/ or egg-info lands in the tree)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "pip_install", "project_copy"]

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ("libquic/", "LICENSE", "README", "pyproject")


def project_copy(dest: Path) -> Path:
    """Copy the files a source distribution would hold into ``dest``."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard"],
                           check=True, capture_output=True, text=True).stdout.split()
    for name in files:
        src = ROOT / name
        if src.is_file() and name.startswith(PACKAGED):
            dst = dest / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(src.read_bytes())
    return dest


def pip_install(work: Path) -> Path:
    """``pip install`` the project into ``work``/site (no dependencies: the
    running interpreter has them); returns that folder, whose ``bin`` holds
    the commands.  Run them with PYTHONPATH set to it."""
    site = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site),
                    str(project_copy(work / "src"))],
                   check=True, capture_output=True, timeout=600)
    return site
