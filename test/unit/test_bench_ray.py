"""`t10-bench --ray`: the matrix as tasks on a Ray cluster gives the rows of one
process, in the same order, with the same progress lines, and `--scaling`'s searches
the same largest batches; a missing Ray, a bad address (given or in RAY_ADDRESS), a
failed connection and an error of a run are each one diagnostic line.

Failed connections are played by a stand-in `ray` module (`FakeRay`): no cluster here
uses token authentication, and `auto` would find a concurrent test's local cluster.

The clusters are local, with no dashboard and no usage reports: a 2-core machine with
no network but the loopback runs the module in well under a minute (most of it the two
cluster starts). Without Ray installed the cluster tests skip and the rest run.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr
from io import StringIO
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from test_bench_scaling import GRID16, TINY_BERT

from t10ir.bench import scaling
from t10ir.bench.cluster import AUTH_HINT
from t10ir.bench.matrix import Row, read_csv
from t10ir.tools.t10_bench import main

MODELS = "examples/mlp.mlir,examples/tiny_graph.json"
STRATEGIES = "vgm,greedy"


def design_point(path: Path, cores: int, sram_bytes: int) -> Path:
    """A target JSON, as a design-space sweep writes one per point."""
    path.write_text(
        json.dumps(
            {
                "name": path.stem,
                "cores": cores,
                "sram_bytes": sram_bytes,
                "clock_hz": 1e9,
                "topology": "all-to-all",
                "link_bytes_per_cycle": 4,
                "sync_cycles": 100,
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A small sweep: two models, two strategies, two design points (four tasks)."""
    directory = tmp_path_factory.mktemp("designs")
    targets = [
        design_point(directory / "c16-s64k.json", 16, 64 * 1024),
        design_point(directory / "c64-s16k.json", 64, 16 * 1024),
    ]
    return ["--models", MODELS, "--strategies", STRATEGIES, "--batches", "1"] + [
        "--targets",
        ",".join(map(str, targets)),
    ]


def bench(argv: list[str], out: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(out)])
    assert exit_info.value.code == 0


def figures(out: Path) -> list[Row]:
    """results.csv without the wall times (the `*_s` columns)."""
    return [
        {k: v for k, v in r.items() if not k.endswith("_s")}
        for r in read_csv(out / "results.csv")
    ]


def run_lines(err: str) -> list[str]:
    """The progress lines of the runs, one per run, in completion order."""
    return sorted(line for line in err.splitlines() if " cycles (" in line)


@pytest.fixture(scope="module")
def one_process(
    sweep: list[str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str]]:
    """`--jobs 1`'s output directory and progress lines, the reference."""
    out = tmp_path_factory.mktemp("jobs1")
    err = StringIO()  # capsys is per test
    with redirect_stderr(err):
        bench([*sweep, "--jobs", "1"], out)
    lines = run_lines(err.getvalue())
    assert len(figures(out)) == len(lines) == 8
    return out, lines


@pytest.fixture
def local_ray(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The `ray` module, no cluster connected, nothing sent anywhere."""
    ray = pytest.importorskip("ray", reason="Ray absent: pip install 't10ir[cluster]'")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not ray.is_initialized()
    return ray


@pytest.fixture
def sweep_on_ray(
    sweep: list[str],
    one_process: tuple[Path, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Callable[[], None]:
    """Run the sweep with `--ray` and check it against `--jobs 1`: the same figures
    and ops, byte for byte, and the same progress line per run (wall times aside)."""

    def check() -> None:
        bench([*sweep, "--ray"], tmp_path)
        reference, lines = one_process
        assert figures(tmp_path) == figures(reference)
        ops = (tmp_path / "ops.csv").read_bytes()
        assert ops == (reference / "ops.csv").read_bytes()
        err = capsys.readouterr().err
        assert [line.rsplit(", compile", 1)[0] for line in run_lines(err)] == [
            line.rsplit(", compile", 1)[0] for line in lines
        ]

    return check


# ---- diagnostics, before any cluster runs in this process (the tool would use it) ---


def one_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("t10-bench: error: "), err
    return err


def test_without_ray_the_option_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray: ImportError
    err = one_error(["--models", "examples/mlp.mlir", "--ray"], capsys)
    assert (
        "--ray needs Ray, an optional dependency: pip install 't10ir[cluster]'" in err
    )


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("nosuch", "ray://HOST:PORT, auto or local, got 'nosuch'\n"),
        ("127.0.0.1:{port}", "--ray: no Ray cluster answers at 127.0.0.1:{port}: "),
        ("ray://127.0.0.1:{port}", "no Ray cluster answers at ray://127.0.0.1:{port}"),
    ],
)
def test_a_bad_address_is_one_diagnostic_at_once(
    address: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not Ray's minutes of retries against an address nobody answers."""
    pytest.importorskip("ray", reason="Ray absent: pip install 't10ir[cluster]'")
    port = free_port()
    argv = ["--models", "examples/mlp.mlir", "--ray", address.format(port=port)]
    assert message.format(port=port) in one_error(argv, capsys)


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_a_port_out_of_range_is_a_bad_address(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not looked up at all (getaddrinfo would take 99999 as 34463)."""
    pytest.importorskip("ray", reason="Ray absent: pip install 't10ir[cluster]'")
    argv = ["--models", "examples/mlp.mlir", "--ray", f"127.0.0.1:{port}"]
    err = one_error(argv, capsys)
    assert (
        f"a port from 1 to 65535), ray://HOST:PORT, auto or local, got '127.0.0.1:{port}'\n"
        in err
    )


class FakeRay(ModuleType):
    """A `ray` whose `init` raises `error`, for the diagnostics of a failed
    connection without a cluster (a concurrent test's local cluster would answer
    `auto`, and none here uses token authentication)."""

    class RayError(Exception):
        pass

    def __init__(self, error: Exception) -> None:
        super().__init__("ray")
        self.error = error
        self.addresses: list[str] = []
        self.exceptions = SimpleNamespace(RayError=FakeRay.RayError)

    def is_initialized(self) -> bool:
        return False

    def init(self, address: str, **settings: Any) -> None:
        self.addresses.append(address)
        raise self.error


NO_CLUSTER = ConnectionError(
    "Could not find any running Ray instance. Please specify the one to connect to "
    "by setting `--address` flag or `RAY_ADDRESS` environment variable."
)


def test_auto_with_no_cluster_here_says_so_without_the_token_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeRay(NO_CLUSTER)
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    err = one_error(["--models", "examples/mlp.mlir", "--ray", "auto"], capsys)
    assert err == (
        "t10-bench: error: --ray: cannot connect to a Ray cluster started on this "
        f"machine (auto): {NO_CLUSTER}\n"
    )
    assert fake.addresses == ["auto"]


def test_a_refused_connection_says_what_token_authentication_needs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The address answers TCP (a listening socket), Ray's handshake fails."""
    fake = FakeRay(FakeRay.RayError("Failed to connect to GCS\nmore lines"))
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        err = one_error(["--models", "examples/mlp.mlir", "--ray", address], capsys)
    assert err == (
        f"t10-bench: error: --ray: cannot connect to the Ray cluster at {address}: "
        f"Failed to connect to GCS ({AUTH_HINT})\n"
    )
    assert fake.addresses == [address]
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # then the token is what Ray says
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        err = one_error(["--models", "examples/mlp.mlir", "--ray", address], capsys)
    assert err.endswith(f"at {address}: Failed to connect to GCS\n"), err


def test_a_bad_ray_address_in_the_environment_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeRay(AssertionError("init must not be called"))
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setenv("RAY_ADDRESS", "nosuch")
    err = one_error(["--models", "examples/mlp.mlir", "--ray"], capsys)
    assert err.endswith("got 'nosuch' from RAY_ADDRESS\n"), err
    assert fake.addresses == []


# ---- on a cluster -------------------------------------------------------------


def test_ray_starts_a_local_cluster_and_shuts_it_down(
    local_ray: Any, sweep_on_ray: Callable[[], None]
) -> None:
    """`--ray` with no address (and no RAY_ADDRESS): the tool's own local cluster."""
    sweep_on_ray()
    assert not local_ray.is_initialized()


@pytest.fixture(scope="module")
def two_cpus() -> Iterator[Any]:
    """A local Ray of 2 CPUs for the module's remaining tests, shut down after."""
    ray = pytest.importorskip("ray", reason="Ray absent: pip install 't10ir[cluster]'")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(
            address="local",
            num_cpus=2,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
        try:
            yield ray
        finally:
            ray.shutdown()


def test_ray_gives_the_rows_of_one_process_in_its_order(
    two_cpus: Any, sweep_on_ray: Callable[[], None]
) -> None:
    """On a Ray already initialized in the process, which the tool leaves running."""
    sweep_on_ray()
    assert two_cpus.is_initialized()


def test_an_error_of_a_run_on_ray_is_one_diagnostic_naming_it(
    two_cpus: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.mlir"
    broken.write_text("func.func @f() {\n  %x = top.nosuch\n}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["--models", f"examples/mlp.mlir,{broken}", "--batches", "1"]
            + ["--strategies", "greedy", "--ray", "--out", str(tmp_path)]
        )
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if "error" in line] == [
        f"t10-bench: error: {broken} b=1 ipu-mk2 greedy: {broken}:3:1: "
        "Operation top.nosuch is not registered"
    ]


def test_scaling_on_ray_gives_the_largest_batches_of_one_process(
    two_cpus: Any,
) -> None:
    """`--scaling`'s searches as tasks: the same table and the same progress lines
    (in completion order) as in this process. Below the limit of 64, so each is a
    search that bisects, not one stopped at the limit."""
    arguments = ([TINY_BERT], [GRID16], ["greedy", "vgm"], 10.0, 1)
    here: list[str] = []
    reference = scaling.scaling_table(*arguments, here.append, limit=64)
    on_ray: list[str] = []
    rows = scaling.scaling_table(*arguments, on_ray.append, limit=64, on_ray=True)
    assert rows == reference
    assert sorted(on_ray) == sorted(here) and len(here) == 2
    assert [r["strategy"] for r in rows] == ["greedy", "vgm"]
    assert all(0 < r["largest_batch"] < 64 for r in rows), rows
