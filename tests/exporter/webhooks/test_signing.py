"""Signature verification: property tests over bodies, keys and clock offsets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slakit.exporter.config import SignatureConfig
from slakit.exporter.webhooks.signing import sign_headers, signature, verify

NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SignatureConfig]:
    d = tmp_path_factory.mktemp("keys")
    (d / "new").write_text("new-key\n")
    (d / "old").write_text("old-key")
    both = {"secret_file": d / "new", "previous_secret_file": d / "old", "tolerance": "5m"}
    return {
        "body": SignatureConfig.model_validate(both),
        "timestamp.body": SignatureConfig.model_validate({**both, "signed_content": "timestamp.body"}),
        "new_only": SignatureConfig.model_validate({"secret_file": d / "new"}),
    }


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=512),
    offset=st.floats(-300, 300),
    flip=st.integers(0, 511),
    mode=st.sampled_from(["body", "timestamp.body"]),
)
def test_authentic_verifies_any_change_does_not(configs, body: bytes, offset: float, flip: int, mode: str) -> None:  # type: ignore[no-untyped-def]
    config = configs[mode]
    headers = sign_headers(config, body, NOW + offset)
    assert verify(config, headers, body, NOW) is None
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        assert verify(config, headers, tampered, NOW) == "bad_signature"
    assert verify(config, {**headers, "X-Signature": headers["X-Signature"].upper()}, body, NOW) == "bad_signature"


@settings(max_examples=100, deadline=None)
@given(offset=st.floats(301, 1e6), sign_=st.sampled_from([-1, 1]))
def test_outside_the_window_is_stale(configs, offset: float, sign_: int) -> None:  # type: ignore[no-untyped-def]
    config = configs["timestamp.body"]
    headers = sign_headers(config, b"{}", NOW + sign_ * offset)
    assert verify(config, headers, b"{}", NOW) == "stale"


def test_rotation_previous_key_accepted_unknown_key_not(configs) -> None:  # type: ignore[no-untyped-def]
    config, new_only = configs["body"], configs["new_only"]
    ts = str(int(NOW))
    by_old = {"X-Signature": signature(config, b"old-key", b"{}", ts), "X-Timestamp": ts}
    assert verify(config, by_old, b"{}", NOW) is None
    assert verify(new_only, by_old, b"{}", NOW) == "bad_signature"  # rotation finished: old key gone
    by_other = {"X-Signature": signature(config, b"other", b"{}", ts), "X-Timestamp": ts}
    assert verify(config, by_other, b"{}", NOW) == "bad_signature"
    assert verify(config, {"X-Signature": by_old["X-Signature"]}, b"{}", NOW) == "stale"  # no timestamp
    assert verify(config, {"X-Signature": "sha1=" + "0" * 40, "X-Timestamp": ts}, b"{}", NOW) == "bad_signature"


def test_keys_come_from_files_and_env_never_the_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WH_KEY", "  env-key \n")
    config = SignatureConfig.model_validate({"secret_env": "WH_KEY"})
    assert config.keys == (b"env-key",)
    assert "env-key" not in repr(config) and "env-key" not in str(config.model_dump())
    with pytest.raises(ValueError, match="secrets are not accepted in the config text"):
        SignatureConfig.model_validate({"secret": "inline", "secret_env": "WH_KEY"})
    with pytest.raises(ValueError, match="exactly one of secret_file and secret_env"):
        SignatureConfig.model_validate({})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        SignatureConfig.model_validate({"secret_file": tmp_path / "empty"})
    monkeypatch.delenv("WH_KEY")
    with pytest.raises(ValueError, match="WH_KEY is not set"):
        SignatureConfig.model_validate({"secret_env": "WH_KEY"})
