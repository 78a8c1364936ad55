"""`igautopost user ...`, `token ...` and `serve --help`, in-process on a private data dir."""

from __future__ import annotations

import re


def test_user_lifecycle(cli):
    created = cli("user", "create", "alice", "--password-stdin", input="s3cret-pass\n")
    assert created.exit_code == 0, created.output
    assert "user alice created" in created.stdout
    again = cli("user", "create", "alice", "--password-stdin", input="s3cret-pass\n")
    assert again.exit_code == 1 and "exists already" in again.output
    assert "alice" in cli("user", "list").stdout
    changed = cli("user", "set-password", "alice", "--password-stdin", input="n3w-password\n")
    assert changed.exit_code == 0
    assert cli("user", "delete", "alice").exit_code == 0
    assert "alice" not in cli("user", "list").stdout
    missing = cli("user", "delete", "alice")
    assert missing.exit_code == 1 and "no user named 'alice'" in missing.output


def test_password_is_prompted_twice_and_checked(cli):
    short = cli("user", "create", "bob", input="short\nshort\n")
    assert short.exit_code == 1 and "at least 8" in short.output
    ok = cli("user", "create", "bob", input="long-enough\nlong-enough\n")
    assert ok.exit_code == 0, ok.output
    assert "long-enough" not in ok.stdout


def test_tokens_are_shown_once_and_listed_without_the_key(cli):
    cli("user", "create", "alice", "--password-stdin", input="s3cret-pass\n")
    created = cli("token", "create", "alice")
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", key)
    listed = cli("token", "list", "alice")
    assert listed.exit_code == 0 and key not in listed.stdout and key[:8] in listed.stdout
    assert cli("token", "list").exit_code == 0
    token_id = re.search(r"token (\d+) for alice", created.output).group(1)
    assert cli("token", "revoke", token_id).exit_code == 0
    assert key[:8] not in cli("token", "list").stdout
    assert cli("token", "revoke", token_id).exit_code == 1


def test_token_for_a_missing_user(cli):
    result = cli("token", "create", "nobody")
    assert result.exit_code == 1 and "no user named" in result.output


def test_serve_help_lists_its_options(cli):
    result = cli("serve", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--workers", "--no-worker", "--sandbox", "--max-body"):
        assert option in result.stdout


def test_user_delete_is_refused_while_posts_or_accounts_exist_and_the_flag_deletes_them(cli):
    cli("user", "create", "bob", "--password-stdin", input="s3cret-pass\n")
    added = cli(
        "account",
        "add",
        "17841400000000001",
        "--user",
        "bob",
        "--token-stdin",
        input="EAAB-bobs-token\n",
    )
    assert added.exit_code == 0, added.output

    refused = cli("user", "delete", "bob")

    assert refused.exit_code == 1
    assert "0 active post(s) and 1 Instagram account(s)" in refused.output
    assert "--delete-posts-and-accounts" in refused.output
    assert "bob" in cli("user", "list").stdout

    deleted = cli("user", "delete", "bob", "--delete-posts-and-accounts")

    assert deleted.exit_code == 0, deleted.output
    assert "with 0 post(s), 1 account(s) and 0 API token(s)" in deleted.stdout
    assert "bob" not in cli("user", "list").stdout
    cli("user", "create", "carol", "--password-stdin", input="s3cret-pass\n")
    assert "17841400000000001" not in cli("account", "list", "--user", "carol").stdout
