"""Tell a person something needs them: a row they see in the app, and an email."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from salesdept import clock
from salesdept.models import Notification


def notify(*, user, text: str, url: str = "") -> Notification | None:
    """Record a notification for `user` and email it once the transaction commits."""
    if user is None:
        return None
    from salesdept.tasks import notification_email_task

    notification = Notification.objects.create(user=user, text=text[:300], url=url[:300])
    notification_email_task.delay_on_commit(notification.pk)
    return notification


def notification_email(*, notification_id: int) -> bool:
    """Send the notification's email at most once (a conditional UPDATE claims it)."""
    with transaction.atomic():
        if not Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=clock.now()):
            return False
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    if not notification.user.email:
        return False
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
    try:
        send_mail(
            subject=f"[Sales Department] {notification.text[:120]}",
            message=f"{notification.text}\n\n{link}\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[notification.user.email],
        )
    except Exception:
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)  # the next run tries again
        raise
    return True


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=clock.now())
