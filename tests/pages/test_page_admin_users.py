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


def test_create_form_adds_an_audited_user_with_a_one_time_password_shown_once(writable):
    at = open_page(PAGE, "admin")
    assert not [w for w in at.text_input if w.key == K.NEW_PASSWORD]  # the admin never picks the password
    at.text_input(key=K.NEW_LOGIN).input("newbie")
    at.text_input(key=K.NEW_NAME).input("新人")
    at = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{K.CREATE_FORM}")).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with writable.connect() as conn:
        assert conn.execute(text("SELECT must_change_password FROM app_user WHERE login = 'newbie'")).scalar_one()
        assert conn.execute(text("SELECT COUNT(*) FROM audit_log WHERE entity = 'app_user' AND actor = 'admin'")
                            ).scalar_one() >= 1
    shown = [s.value for s in at.success if "newbie" in s.value]
    assert len(shown) == 1
    password = shown[0].split(": ", 1)[1].split(" ", 1)[0]
    assert auth.authenticate(writable, "newbie", password).user.must_change  # the password shown is the one
    assert "newbie" in at.dataframe[0].value.iloc[:, 0].tolist()  # the table shows the new user
    at.run()
    assert not [s for s in at.success if password in s.value]  # shown once: gone on the next run
