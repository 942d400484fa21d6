"""The suite's own rules (tests/conftest.py): in CI a skip is a failure unless
allow-listed; elsewhere it names what to install; the run ends with the number
of tests per package and pytest's own summary line stays last."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SAMPLE = """
import pytest

def test_tool():
    pytest.skip("socat not installed (apt-get install socat)")

def test_allowed():
    pytest.skip("pcscd is a system service here; the test only restarts a pcscd it manages")

def test_import():
    pytest.importorskip("no_such_module_for_the_policy_test")

def test_fine():
    pass
"""


@pytest.fixture
def sample(pytester):
    pytester.makeconftest(ROOT_CONFTEST.read_text("utf-8"))
    pytester.mkpydir("pkg")
    (pytester.path / "pkg" / "test_sample.py").write_text(SAMPLE, "utf-8")
    return pytester


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_in_ci_a_skip_fails_unless_allow_listed(sample, monkeypatch, value):
    monkeypatch.setenv("CI", value)
    result = sample.runpytest("-p", "no:cacheprovider", "-rfEs")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    result.stdout.fnmatch_lines(["*skipped in CI, which must run every test: socat not installed*",
                                 "*skipped in CI, which must run every test: could not import*"])
    assert "2 failed, 1 passed, 1 skipped" in result.outlines[-1]


@pytest.mark.parametrize("value", [None, "", "0", "false"])
def test_outside_ci_a_skip_says_what_to_install(sample, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    result = sample.runpytest("-p", "no:cacheprovider", "-rfEs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(["*socat not installed (apt-get install socat)*",
                                 "*could not import*; install with `make install`*"])


def test_counts_per_package_come_before_the_last_line(sample, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    (sample.path / "pkg" / "test_more.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('n', range(3))\ndef test_n(n):\n    assert n < 2\n", "utf-8")
    result = sample.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*tests run per package*", "pkg *4 run  (1 failed, 3 skipped)*"])
    assert result.outlines[-1].startswith("=") and "1 failed, 3 passed, 3 skipped" in result.outlines[-1]
