"""Fixtures of the integration tests: real qcluster processes, Redis broker, PostgreSQL.

The tests commit their rows (django_db(transaction=True)) in pytest-django's PostgreSQL test
database, enqueue to a Redis database of their own (flushed before and after), and start
`manage.py qcluster` processes configured by environment variables to use the same database,
Redis and storage folders. Every worker started is stopped when the test ends, pass or fail.
"""

import pytest
import redis
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf

from tests.components import need, need_redis

from .workers import QCluster, wait_ready, worker_env


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "redis: needs Redis (skipped elsewhere, required in CI's PostgreSQL run)"
    )


def need_postgres_and_redis() -> str:
    need(
        "postgres",
        connection.vendor == "postgresql",
        "needs PostgreSQL and Redis: run with DATABASE_URL=postgres://… and Redis at "
        "127.0.0.1:6379 (make test-postgres)",
    )
    return need_redis()


@pytest.fixture
def redis_broker(transactional_db, isolated_storage, settings, monkeypatch):
    """This process enqueues to (and caches in) the test's Redis database, as a web server
    with REDIS_URL set would. Yields the URL."""
    url = need_postgres_and_redis()
    client = redis.Redis.from_url(url)
    client.flushdb()
    q_cluster = {k: v for k, v in settings.Q_CLUSTER.items() if k != "orm"}
    settings.Q_CLUSTER = {**q_cluster, "redis": url}
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    # django_q.conf.Conf read Q_CLUSTER once, at import: point the class at Redis too.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)
    monkeypatch.setattr(Conf, "SYNC", False)
    assert get_broker().__class__.__name__ == "Redis"
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def qclusters(redis_broker, isolated_storage):
    """start(name) starts a qcluster and waits until it is running; all stop at teardown."""
    started: list[QCluster] = []
    var_dir = isolated_storage / "worker-var"
    var_dir.mkdir(exist_ok=True)

    def start(name: str, *, workers: int = 2, ready: bool = True) -> QCluster:
        cluster = QCluster(
            name, worker_env(redis_url=redis_broker, var_dir=var_dir, workers=workers), var_dir
        )
        started.append(cluster)
        cluster.start()
        if ready:
            wait_ready(cluster)
        return cluster

    def logs() -> str:
        return "\n".join(c.log_tail() for c in started)

    def stop_all() -> None:
        for cluster in started:
            cluster.stop()

    start.logs = logs
    start.stop_all = stop_all
    try:
        yield start
    finally:
        stop_all()
