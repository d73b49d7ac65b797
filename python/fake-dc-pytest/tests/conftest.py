# These tests serve the repository's small-org fixture unless told otherwise.
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]


def pytest_configure(config):
    if not config.getoption("--fake-dc-fixture") and not config.getini("fake_dc_fixture"):
        config.option.fake_dc_fixture = str(ROOT / "fixtures" / "small-org.yaml")
