"""The docs describe what is built: the generated config reference is current."""

import subprocess
import sys

from .conftest import ROOT


def test_config_reference_is_current():
    result = subprocess.run([sys.executable, "scripts/config_reference.py", "--check"], cwd=ROOT)
    assert result.returncode == 0, "docs/config.md is stale: run python scripts/config_reference.py"


def test_every_doc_the_readme_links_exists():
    import re

    readme = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / link).is_file(), link
