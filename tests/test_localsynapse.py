"""The suite's own homeserver: loopback only, closed registration, no federation, admin ready."""

import requests
import yaml


def test_admin_ready_and_registration_closed(synapse):
    whoami = requests.get(
        f"{synapse.url}/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {synapse.admin_token}"},
        timeout=5,
    )
    assert whoami.json()["user_id"] == synapse.admin_user_id
    # Open registration is off: accounts exist only when the front end provisions them.
    answer = requests.post(
        f"{synapse.url}/_matrix/client/v3/register", json={"username": "someone", "password": "x" * 12}, timeout=5
    )
    assert answer.status_code == 403
    config = yaml.safe_load(synapse.config_path.read_text())
    assert config["auto_join_rooms"] == []
    assert config["trusted_key_servers"] == []
    assert [listener["bind_addresses"] for listener in config["listeners"]] == [["127.0.0.1"]]
    assert all(r["names"] == ["client"] for r in config["listeners"][0]["resources"])


def test_restart_keeps_accounts_and_port(synapse):
    user = synapse.register_user("restart-check", "a-long-password")
    url = synapse.url
    synapse.restart()
    assert synapse.url == url
    whoami = requests.get(
        f"{synapse.url}/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {user['access_token']}"},
        timeout=5,
    )
    assert whoami.json()["user_id"] == user["user_id"]
