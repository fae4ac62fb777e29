"""Tests for L{fazt.cli.settings}: flags beat the environment beat the config file."""

import json

import pytest

from fazt.cli.settings import (
    DEFAULT_SERVER,
    SettingsError,
    config_file_path,
    normalize_server_url,
    resolve_settings,
)


def write_config(directory, **values):
    """Write C{values} as C{fazt/config.json} under the config directory."""
    path = directory / "fazt" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    return path


@pytest.fixture
def config_home(isolated_environment):
    """The default config directory, C{$HOME/.config}."""
    return isolated_environment / ".config"


def test_defaults_without_any_setting():
    settings = resolve_settings()
    assert settings.server == DEFAULT_SERVER == "http://localhost:4698"
    assert settings.token is None


def test_config_file_under_home(config_home):
    write_config(config_home, server="https://admin.example.com/", token="file-token")
    settings = resolve_settings()
    assert settings.server == "https://admin.example.com"
    assert settings.token == "file-token"


def test_environment_beats_config_file(config_home, monkeypatch):
    write_config(config_home, server="https://file.example", token="file-token")
    monkeypatch.setenv("FAZT_SERVER", "https://env.example")
    monkeypatch.setenv("FAZT_TOKEN", "env-token")
    settings = resolve_settings()
    assert (settings.server, settings.token) == ("https://env.example", "env-token")


def test_flags_beat_environment_and_config_file(config_home, monkeypatch):
    write_config(config_home, server="https://file.example", token="file-token")
    monkeypatch.setenv("FAZT_SERVER", "https://env.example")
    monkeypatch.setenv("FAZT_TOKEN", "env-token")
    settings = resolve_settings("https://flag.example", "flag-token")
    assert (settings.server, settings.token) == ("https://flag.example", "flag-token")


def test_each_value_is_resolved_on_its_own(config_home, monkeypatch):
    write_config(config_home, server="https://file.example", token="file-token")
    monkeypatch.setenv("FAZT_TOKEN", "env-token")
    settings = resolve_settings(token_flag=None)
    assert (settings.server, settings.token) == ("https://file.example", "env-token")
    settings = resolve_settings(server_flag="https://flag.example")
    assert (settings.server, settings.token) == ("https://flag.example", "env-token")


def test_empty_values_count_as_unset(config_home, monkeypatch):
    write_config(config_home, server="https://file.example", token="file-token")
    monkeypatch.setenv("FAZT_TOKEN", "  ")
    settings = resolve_settings("", "")
    assert (settings.server, settings.token) == ("https://file.example", "file-token")


def test_xdg_config_home_is_honoured(tmp_path, config_home, monkeypatch):
    write_config(config_home, token="home-token")
    xdg = tmp_path / "xdg"
    write_config(xdg, token="xdg-token")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert config_file_path() == str(xdg / "fazt" / "config.json")
    assert resolve_settings().token == "xdg-token"


def test_malformed_config_file_is_a_clear_error(config_home):
    path = config_home / "fazt" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(SettingsError, match="cannot read config file .*config.json"):
        resolve_settings()


def test_config_file_is_not_read_when_flags_give_everything(config_home):
    path = config_home / "fazt" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("[broken")
    settings = resolve_settings("http://h:1", "t")
    assert (settings.server, settings.token) == ("http://h:1", "t")


def test_config_file_must_hold_an_object(config_home):
    path = config_home / "fazt" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("[1, 2]")
    with pytest.raises(SettingsError, match="JSON object"):
        resolve_settings()


def test_require_token_explains_how_to_pass_one():
    with pytest.raises(SettingsError) as raised:
        resolve_settings().require_token()
    message = str(raised.value)
    assert "--token" in message and "FAZT_TOKEN" in message and "config.json" in message


@pytest.mark.parametrize(
    "given, expected",
    [
        ("localhost:4698", "http://localhost:4698"),
        ("https://admin.example.com/", "https://admin.example.com"),
        ("http://127.0.0.1:8080/fazt/", "http://127.0.0.1:8080/fazt"),
    ],
)
def test_server_urls_are_normalized(given, expected):
    assert normalize_server_url(given) == expected


@pytest.mark.parametrize("bad", ["ftp://example.com", "http://"])
def test_unusable_server_urls_are_refused(bad):
    with pytest.raises(SettingsError):
        normalize_server_url(bad)
