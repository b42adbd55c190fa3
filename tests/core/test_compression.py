"""API responses are gzipped for clients that accept it; HTML pages (CSRF tokens) never."""

from __future__ import annotations

import gzip
import json

import pytest

from tests.factories import TransferFactory

pytestmark = pytest.mark.django_db


def test_api_lists_are_gzipped_when_the_client_accepts_it(api_client_for, viewer):
    for _ in range(30):
        TransferFactory()
    client = api_client_for(viewer)
    plain = client.get("/api/v1/transfers/")
    zipped = client.get("/api/v1/transfers/", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    assert len(zipped.content) < len(plain.content) / 3


def test_admin_pages_are_not_compressed(admin_client):
    response = admin_client.get("/admin/", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
