"""cognito_identity_provider_info against moto: a pool's providers by name and type, none for a missing pool."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_module
from test_cognito_common import (  # noqa: F401 - pytest fixtures shared by the Cognito tests
    cognito,
    pool_id,
)


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("cognito_identity_provider_info", {**args, **extra}, capsys)


def add_provider(cognito: Any, pool_id: str, name: str, kind: str) -> None:
    details = (
        {"MetadataURL": "https://idp.example.com/metadata"}
        if kind == "SAML"
        else {
            "client_id": "x",
            "client_secret": "y",
            "authorize_scopes": "openid",
            "oidc_issuer": "https://x.example.com",
            "attributes_request_method": "GET",
        }
    )
    cognito.create_identity_provider(UserPoolId=pool_id, ProviderName=name, ProviderType=kind, ProviderDetails=details)


def test_lists_the_providers_by_name_and_type_without_their_details(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    add_provider(cognito, pool_id, "corp-saml", "SAML")
    add_provider(cognito, pool_id, "corp-oidc", "OIDC")

    result = run({"user_pool_id": pool_id}, capsys, check_mode=True)

    assert result["changed"] is False
    assert result["identity_providers"] == [
        {"provider_name": "corp-oidc", "provider_type": "OIDC"},
        {"provider_name": "corp-saml", "provider_type": "SAML"},
    ]
    assert "y" not in [value for item in result["identity_providers"] for value in item.values()]


def test_a_pool_without_providers_has_none(pool_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run({"user_pool_id": pool_id}, capsys)["identity_providers"] == []


def test_a_missing_pool_has_none(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert run({"user_pool_id": "us-east-1_Missing00"}, capsys)["identity_providers"] == []
