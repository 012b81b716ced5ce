"""The cluster's configuration templates lock what changes state: Patroni's REST API asks for a password on
its unsafe methods (HAProxy's GET checks stay open, as Patroni leaves GET open), HAProxy's statistics page
asks for one too. Rendered from deploy/cluster/ with the values `topup cluster up` fills in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from topup.cluster.configs import SECRET_NAMES, render


def test_patronis_rest_api_asks_for_a_password(tmp_path: Path) -> None:
    values = dict.fromkeys(
        ("name", "address", "network", "etcd_hosts", "post_bootstrap", "data_dir", "pgpass", "socket_dir",
         "superuser_password", "replication_password"), "x",
    )  # fmt: skip
    path = render("patroni.yml", tmp_path / "patroni.yml", restapi_password="rest-secret", **values)
    config: dict[str, Any] = yaml.safe_load(path.read_text())
    assert config["restapi"]["authentication"] == {"username": "patroni", "password": "rest-secret"}
    assert "restapi_password" in SECRET_NAMES


def test_haproxy_checks_patroni_with_get_and_its_stats_page_asks_for_a_password(tmp_path: Path) -> None:
    path = render(
        "haproxy.cfg", tmp_path / "haproxy.cfg", address="10.0.0.1", stats_password="stats-secret",
        primary_servers="", replica_servers="", web_servers="",
    )  # fmt: skip
    text = path.read_text()
    stats = text.split("listen stats", 1)[1].split("\nlisten ", 1)[0]
    assert "stats auth stats:stats-secret" in stats
    assert "http-check send meth GET uri /primary" in text
    assert "http-check send meth GET uri /replica" in text
