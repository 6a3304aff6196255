"""What starting the command line costs: importing it loads no reader and no aiohttp.

Every command pays its imports before it does anything (a Makefile batch runs dozens; the test
suite hundreds): the readers are loaded when a command reads an export or ``--format`` is
parsed, the sandbox's aiohttp server when ``importer sandbox`` starts.
"""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from importer.cli import cli
from importer.cli_options import FormatChoice
from importer.readers.base import READERS

_LOADED = (
    "import json, sys; import importer.cli; "
    "print(json.dumps(sorted(m for m in sys.modules "
    "if m.startswith(('importer.readers.zendesk', 'importer.readers.mail', 'aiohttp')))))"
)


def test_importing_the_cli_loads_no_reader_and_no_aiohttp() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []


def test_format_choices_are_the_registered_formats() -> None:
    assert FormatChoice().choices == READERS.names
    assert "zendesk" in FormatChoice().choices


def test_an_unknown_format_is_refused_naming_the_registered_ones() -> None:
    result = CliRunner().invoke(cli, ["validate", "--format", "nope", "samples/zendesk"])
    assert result.exit_code == 2
    assert "'nope' is not one of" in result.output
    assert "'zendesk'" in result.output
