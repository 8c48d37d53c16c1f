import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_the_roles_exist_after_migrating():
    reps = Group.objects.get(name="Sales rep")
    assert reps.permissions.filter(codename="approve_outreachmessage").exists()
    assert not reps.permissions.filter(codename="change_campaign").exists()
    assert Group.objects.get(name="Manager").permissions.filter(codename="change_campaign").exists()
    assert Group.objects.get(name="Admin").permissions.filter(codename="change_sendingaccount").exists()


def test_it_sends_reps_to_the_queue_and_managers_to_the_dashboard(client, alice, bob, mallory):
    client.force_login(alice)
    assert client.get("/").url == "/approvals/"
    client.force_login(bob)
    assert client.get("/").url == "/dashboard/"
    client.force_login(mallory)
    response = client.get("/")
    assert response.status_code == 403
    assert "no role yet" in response.text


def test_it_logs_in_by_email_through_allauth(client, alice):
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": "pass-for-tests-1"})
    assert response.status_code == 302
    assert client.get("/approvals/").status_code == 200


def test_it_refuses_a_wrong_password_with_a_clear_message(client, alice):
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.text
    assert client.get("/approvals/").status_code == 302


def test_signup_is_closed(client):
    response = client.get("/accounts/signup/")
    assert "Sign Up Closed" in response.text or response.status_code in (403, 404)


def test_the_admin_login_is_allauths(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_admin_is_for_staff_only(client, alice):
    client.force_login(alice)
    response = client.get("/admin/")
    assert response.status_code in (302, 403)
    assert "Site administration" not in getattr(response, "text", "")


def test_repeated_failed_logins_are_rate_limited(client, alice):
    for _ in range(5):
        client.post("/accounts/login/", {"login": "alice@example.com", "password": "wrong"})
    response = client.post("/accounts/login/", {"login": "alice@example.com", "password": "pass-for-tests-1"})
    assert "Too many failed login attempts" in response.text
    assert client.get("/approvals/").status_code == 302
