"""Page admin_users 用户管理: the user table lists exactly the users inside the admin's scope, and the
create form adds an audited user."""
from __future__ import annotations

from apptest_helpers import open_page
from sqlalchemy import text

from lib import auth
from lib.ui import Keys

PAGE = "pages/admin_users.py"
K = Keys.Admin


def test_user_table_lists_the_users_in_scope(engine):
    at = open_page(PAGE, "admin")
    with engine.connect() as conn:
        logins = conn.execute(text("SELECT login FROM app_user ORDER BY login")).scalars().all()
    shown = at.dataframe[0].value
    assert sorted(shown.iloc[:, 0].tolist()) == logins
    assert len(logins) == len(auth.DEMO_USERS)


def test_create_form_adds_an_audited_user(writable):
    at = open_page(PAGE, "admin")
    at.text_input(key=K.NEW_LOGIN).input("newbie")
    at.text_input(key=K.NEW_NAME).input("新人")
    at.text_input(key=K.NEW_PASSWORD).input("long enough pw 1")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{K.CREATE_FORM}")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM app_user WHERE login = 'newbie'")).scalar_one() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'app_user' AND actor = 'admin'")
                            ).scalar_one() >= 1
    assert at.success
    at.run()  # the table above the form shows the new user on the next run (its cache was cleared)
    assert "newbie" in at.dataframe[0].value.iloc[:, 0].tolist()
