import pytest


@pytest.fixture
def client_as(users, client):
    """`client_as("county_official")`: the test client signed in as that login."""

    def _as(who):
        client.force_login(users[who])
        return client

    return _as
