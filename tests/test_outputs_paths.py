"""Output folders that cannot be folders: a one-line error (exit 2), never a traceback (#15 item 6)."""

from __future__ import annotations

import os

import pytest

from finemill.errors import FinemillError
from finemill.run_folder import make_output_folder
from tests.conftest import run_cli


@pytest.mark.parametrize("below", ["", "sub", "sub/deeper"])
def test_run_into_a_file_or_below_one_is_one_line(tmp_path, below):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder\n")
    output = str(a_file / below) if below else str(a_file)
    result = run_cli("run", "--output", output, "--limit", "1")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "is a file, not a folder" in result.stderr and str(a_file) in result.stderr
    assert a_file.read_text() == "not a folder\n"  # left as it was


def test_make_output_folder_creates_and_accepts_folders(tmp_path):
    made = make_output_folder(tmp_path / "a" / "b")
    assert made.is_dir() and made == (tmp_path / "a" / "b").resolve()
    assert make_output_folder(made) == made  # an existing folder is fine


def test_make_output_folder_refuses_an_unwritable_parent(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() == 0:
            pytest.skip("root writes anywhere")
        with pytest.raises(FinemillError, match="cannot create the output folder"):
            make_output_folder(locked / "out")
    finally:
        locked.chmod(0o700)
