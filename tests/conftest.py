"""Test-suite-wide pytest configuration."""

pytest_plugins = ["pytester"]
