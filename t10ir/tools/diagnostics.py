"""MLIR-style diagnostics shared by every T10ir tool.

Every error a user can cause (bad IR, a bad option, a missing file, a plan that does not
fit) becomes one line `file:line:col: error: message` (or `tool: error: message` when there
is no location) and exit code 1, never a Python traceback. Reading and verifying modules
is the library's (`t10ir.module_io`); the tools print what it raises and write their
outputs here.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import traceback
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NoReturn

import numpy as np

from t10ir.errors import T10Error


def render(error: T10Error, tool: str) -> str:
    """The one line a tool prints for `error`: `location: error: message`."""
    return one_line(f"{error.location or tool}: error: {error.message}")


_LINE_BREAKING = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with each control character but tab escaped as Python writes it (`\\n`).

    A diagnostic quotes what the user gave (an argument argparse did not recognize, a
    file name, a token), which may hold a newline; printed as it is, one diagnostic
    would read as several lines.
    """
    return _LINE_BREAKING.sub(lambda match: repr(match.group())[1:-1], text)


class ToolArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line is one diagnostic line and exit code 1 (argparse
    prints its usage and exits with 2); `--help` still prints the usage and exits 0."""

    def error(self, message: str) -> NoReturn:
        raise T10Error(message)


def write_file(path: str, text: str) -> None:
    """Write an output file, a missing directory or a permission being one diagnostic."""
    try:
        Path(path).write_text(text)
    except OSError as error:
        raise T10Error(f"cannot write '{path}': {error.strerror or error}") from None


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # np.savez stamps the time; this keeps bytes fixed


def write_npz(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` as an .npz that np.load reads, with reproducible bytes; a missing
    directory or a permission is one diagnostic."""
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
                with archive.open(info, "w", force_zip64=True) as member:
                    # np.ascontiguousarray makes a rank-0 array (1,): keep ().
                    np.lib.format.write_array(
                        member, np.asarray(array, order="C"), allow_pickle=False
                    )
    except OSError as error:
        raise T10Error(f"cannot write '{path}': {error.strerror or error}") from None


def run_tool(tool: str, body: Callable[[], int]) -> None:
    """Run a tool's body, turning every user-caused error into one diagnostic line."""
    try:
        code = body()
    except T10Error as error:
        print(render(error, tool), file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except MemoryError:  # an input that needs more memory than the machine has
        print(f"{tool}: error: out of memory", file=sys.stderr)
        code = 1
    except BrokenPipeError:  # the reader (`| head`) stopped early: not an error
        sys.stderr.close()
        code = 0
    except Exception as error:  # a bug of T10ir's own, not of the input
        if os.environ.get("T10IR_DEBUG"):
            traceback.print_exc()
        print(
            one_line(
                f"{tool}: internal error: {type(error).__name__}: {error} "
                "(set T10IR_DEBUG=1 for the traceback)"
            ),
            file=sys.stderr,
        )
        code = 2
    sys.exit(code)
