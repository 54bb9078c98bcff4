"""A failed statement's error does not quote its bound values: a traceback that logs it must not log personal
data (found by review). On every storage backend."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from chengxin.adapters.db.engine import read_connection

ID_NUMBER = "31010419900307123X"


def test_a_failed_statements_error_leaves_its_parameters_out(app) -> None:
    with pytest.raises(DBAPIError) as failed, read_connection(app.engine) as conn:
        conn.execute(text("SELECT * FROM no_such_table WHERE id_number = :n"), {"n": ID_NUMBER})
    message = str(failed.value)
    assert "no_such_table" in message and ID_NUMBER not in message and "parameters hidden" in message
