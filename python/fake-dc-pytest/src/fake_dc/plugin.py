"""The pytest plugin: a `fake_dc` fixture.

One fake-dc process per test session (starting it costs a fixture load and a CA); before
every test the directory, clock, faults and statistics are put back as they were when
the session started (a snapshot restore, milliseconds), so tests cannot see each
other's changes.

Options (command line or ini): --fake-dc-fixture / fake_dc_fixture: the fixture file;
the binary comes from FAKE_DC_BIN or PATH.
"""

import pytest

from .process import FakeDc

SNAPSHOT = "pytest-session-start"


def pytest_addoption(parser):
    parser.addoption("--fake-dc-fixture", default=None, help="fixture file for the fake_dc fixture")
    parser.addini("fake_dc_fixture", "fixture file for the fake_dc fixture", default="")


def _fixture_path(config):
    path = config.getoption("--fake-dc-fixture") or config.getini("fake_dc_fixture")
    if not path:
        raise pytest.UsageError(
            "fake_dc needs a fixture file: --fake-dc-fixture PATH or fake_dc_fixture in pytest.ini"
        )
    return path


@pytest.fixture(scope="session")
def fake_dc_session(request):
    """The session's fake-dc process (no per-test reset: prefer `fake_dc`)."""
    dc = FakeDc.start(_fixture_path(request.config))
    dc.control.snapshot(SNAPSHOT)
    yield dc
    dc.stop()


@pytest.fixture
def fake_dc(fake_dc_session):
    """A running fake-dc, as the session started it: snapshot restored, faults cleared,
    statistics zeroed."""
    dc = fake_dc_session
    dc.control.restore(SNAPSHOT)
    for host in dc.hosts:
        dc.control.clear_faults(host)
    dc.control.reset_stats()
    return dc
