"""Environment variables tikkun or Numba cannot use: named in one line, every run refused."""

import os
import subprocess
import sys

import pytest

from tikkun.native import environment


@pytest.mark.parametrize("environ, named", [
    ({}, []),
    ({"TIKKUN_PORTABLE": "1", "NUMBA_NUM_THREADS": "2", "NUMBA_THREADING_LAYER": "omp"}, []),
    ({"TIKKUN_PORTABLE": "", "NUMBA_THREADING_LAYER_PRIORITY": "workqueue omp tbb"}, []),
    ({"NUMBA_THREADING_LAYER": "TBB"}, []),  # Numba lowers the case
    ({"NUMBA_THREADING_LAYER": " tbb"}, ["NUMBA_THREADING_LAYER"]),  # and keeps the space: unknown to it
    ({"TIKKUN_PORTABLE": "yes"}, ["TIKKUN_PORTABLE"]),
    ({"NUMBA_NUM_THREADS": "0"}, ["NUMBA_NUM_THREADS"]),
    ({"NUMBA_NUM_THREADS": "two"}, ["NUMBA_NUM_THREADS"]),
    ({"NUMBA_NUM_THREADS": ""}, ["NUMBA_NUM_THREADS"]),  # Numba would warn and use its default
    ({"NUMBA_THREADING_LAYER": "bogus"}, ["NUMBA_THREADING_LAYER"]),
    ({"NUMBA_THREADING_LAYER": ""}, ["NUMBA_THREADING_LAYER"]),  # unknown to Numba, at the first loop
    ({"NUMBA_THREADING_LAYER_PRIORITY": "omp tbb"}, ["NUMBA_THREADING_LAYER_PRIORITY"]),  # Numba wants all three
    ({"NUMBA_THREADING_LAYER_PRIORITY": "tbb,omp,workqueue"}, ["NUMBA_THREADING_LAYER_PRIORITY"]),
    ({"TIKKUN_PORTABLE": "true", "NUMBA_NUM_THREADS": "-1"}, ["TIKKUN_PORTABLE", "NUMBA_NUM_THREADS"]),
])
def test_each_unusable_value_is_named(environ, named):
    found = environment.problems(environ)
    assert sorted(found) == sorted(named)
    for name in named:
        assert found[name].startswith(f"{name} must ") and repr(environ[name]) in found[name]


def _tikkun(args, tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "TIKKUN_"))}
    return subprocess.run([sys.executable, "-c", "from tikkun.cli import main; main()", *args], cwd=tmp_path,
                          capture_output=True, text=True, env={**clean, **env}, timeout=600)


@pytest.mark.parametrize("env", [{"TIKKUN_PORTABLE": "yes"}, {"NUMBA_NUM_THREADS": "0"}])
def test_the_command_line_refuses_in_one_line_and_writes_nothing(tmp_path, env):
    """Numba stops its own import on NUMBA_NUM_THREADS=0, and tikkun stopped its on a wrong
    TIKKUN_PORTABLE: both were tracebacks before the command line could say anything."""
    r = _tikkun(["run", "--preset", "quick", "--souls", "1000", "--out", "out"], tmp_path, **env)  # no bar first
    (name, value), = env.items()
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [environment.problems(env)[name].join(["error: ", ""])]
    assert "Traceback" not in r.stderr and not (tmp_path / "out").exists() and not list(tmp_path.iterdir())


def test_the_api_imports_and_refuses_every_run(tmp_path):
    script = ("import tikkun\n"
              "from tikkun.native.environment import SettingError\n"
              "for call in (lambda: tikkun.run(preset='quick', souls=1000, out='out'), lambda: tikkun.resume('out')):\n"
              "    try:\n"
              "        call()\n"
              "    except SettingError as exc:\n"
              "        print(exc)\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "TIKKUN_"))}
    r = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                       env={**clean, "NUMBA_THREADING_LAYER": "bogus"}, timeout=600)
    assert r.returncode == 0, r.stderr
    message = environment.problems({"NUMBA_THREADING_LAYER": "bogus"})["NUMBA_THREADING_LAYER"]
    assert r.stdout.splitlines() == [message, message] and not list(tmp_path.iterdir())
