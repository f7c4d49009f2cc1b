import base64

import pytest
from pydantic import ValidationError

from crm_app.config import Settings, normalize_database_url, with_redis_db

KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


def test_production_refuses_placeholder_secret_key():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(env="production", secret_key="change-me", encryption_key=KEY)


def test_production_refuses_a_missing_or_malformed_encryption_key():
    with pytest.raises(ValidationError, match="ENCRYPTION_KEY"):
        Settings(env="production", secret_key="a-real-long-secret", encryption_key=None)
    with pytest.raises(ValidationError, match="ENCRYPTION_KEY"):
        Settings(env="production", secret_key="a-real-long-secret", encryption_key="short")


def test_production_accepts_real_secrets_and_development_allows_defaults(tmp_path):
    prod = Settings(env="production", secret_key="a-real-long-secret", encryption_key=KEY)
    assert prod.encryption_key_bytes() == b"k" * 32
    dev = Settings(env="development", data_dir=tmp_path, encryption_key=None, database_url=None,
                   redis_url=None)
    assert len(dev.encryption_key_bytes()) == 32
    assert dev.encryption_key_bytes() == dev.encryption_key_bytes()  # the key file is made once
    assert dev.effective_database_url == f"sqlite:///{tmp_path / 'crm.db'}"
    assert dev.effective_redis_url == "redis://127.0.0.1:6390/0"


def test_secrets_do_not_print():
    settings = Settings(secret_key="super-secret-value", encryption_key=KEY)
    assert "super-secret-value" not in repr(settings) and KEY not in str(settings)


def test_url_helpers():
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert with_redis_db("redis://h:6379/0", 1) == "redis://h:6379/1"
    assert with_redis_db("redis://h:6379", 1) == "redis://h:6379/1"


def test_env_example_documents_every_setting():
    from crm_app.config import PROJECT_ROOT

    documented = (PROJECT_ROOT / ".env.example").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"{name.upper()}=" not in documented]
    assert missing == []


def test_session_cookie_is_secure_in_production_and_behind_https():
    prod = Settings(env="production", secret_key="a-real-long-secret", encryption_key=KEY)
    assert prod.effective_cookie_secure
    assert Settings(public_url="https://crm.example.com.br").effective_cookie_secure
    assert not Settings().effective_cookie_secure
    assert not Settings(env="production", secret_key="x-real-secret", encryption_key=KEY,
                        cookie_secure=False).effective_cookie_secure
