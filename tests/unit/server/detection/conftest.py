"""Async tests here run on anyio's asyncio backend, as the server does."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
