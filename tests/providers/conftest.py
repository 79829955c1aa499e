"""The provider contract suite: every test here runs once per provider in PROVIDERS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.fakes.providers import PROVIDERS, FakeProvider, fake_provider, poster_for


@pytest.fixture(params=PROVIDERS)
def provider_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(app: Flask, provider_name: str) -> Iterator[FakeProvider]:
    """The provider's fake, its callbacks posted into `app`, and `app` pointed at it."""
    with fake_provider(provider_name, post=poster_for(app.test_client())) as server:
        app.config.update(server.settings())
        yield server
