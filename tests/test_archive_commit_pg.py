"""The payload's archive commits without waiting for the disk (ADR 0007), in its own
transaction only: the session, and any caller's transaction, keep synchronous commits."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from channels_sync.capture import inbound_arrive
from channels_sync.models import InboundMessage, SalesChannel
from tests.conftest import requires_postgres

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def _channel() -> SalesChannel:
    return SalesChannel.objects.create(code="sync-web", name="Web", kind=SalesChannel.Kind.WEB)


def test_the_archive_is_stored_and_the_session_still_commits_synchronously():
    channel = _channel()
    assert _synchronous_commit() == "on"
    arrival = inbound_arrive(channel, {"external_id": "A-1"}, source="api", key="k-1")
    assert InboundMessage.objects.get(pk=arrival.message.pk).payload == {"external_id": "A-1"}
    assert _synchronous_commit() == "on"  # the archive's setting ended with its own transaction


def test_inside_a_callers_transaction_the_archive_leaves_its_commit_synchronous():
    channel = _channel()
    with transaction.atomic():
        inbound_arrive(channel, {"external_id": "A-2"}, source="api", key="k-2")
        assert _synchronous_commit() == "on"
    assert _synchronous_commit() == "on"


def test_the_archives_statement_asks_for_an_asynchronous_commit_only_in_autocommit():
    channel = _channel()
    seen: list[str] = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        inbound_arrive(channel, {"external_id": "A-3"}, source="api", key="k-3")
        with transaction.atomic():
            inbound_arrive(channel, {"external_id": "A-4"}, source="api", key="k-4")
    archives = [sql for sql in seen if "channels_sync_inboundmessage" in sql]
    assert len(archives) == 2
    assert "synchronous_commit" in archives[0] and "synchronous_commit" not in archives[1]
