"""Writes of the salesdept app: the team's configuration from /settings/."""

import logging

from django.views.decorators.debug import sensitive_variables

from outreach.channels.unipile import unipile_check
from salesdept.llm import client
from salesdept.teamconfig import Check, llm_config_with, team_config_save, unipile_config_with

log = logging.getLogger(__name__)
NO_MODEL_KEY = "No API key, here or in the server's environment: the offline template writes every message."


@sensitive_variables("values", "config")
def model_server_apply(*, actor, values: dict, save: bool) -> Check:
    """Test the model server with `values` over what is saved; store them only if the call answered.

    A save without any key left is stored untested: it turns the model off, and nothing is called.
    """
    config = llm_config_with(values)
    if not config.api_key:
        if not save:
            return Check(False, NO_MODEL_KEY)
        team_config_save(actor=actor, **values)
        log.info("model server settings saved by user %s, without a key", actor.pk)
        return Check(True, f"Saved. {NO_MODEL_KEY}")
    check = client.server_check(api_key=config.api_key, base_url=config.base_url, model=config.model)
    if save and check.ok:
        team_config_save(actor=actor, **values)
        log.info("model server settings saved by user %s", actor.pk)
        return Check(True, f"Saved. {check.message}")
    return check


@sensitive_variables("values", "config")
def unipile_apply(*, actor, values: dict, save: bool) -> Check:
    """Test Unipile with `values` over what is saved; store them only if Unipile answered."""
    config = unipile_config_with(values)
    check = unipile_check(config)
    if save and check.ok:
        team_config_save(actor=actor, **values)
        log.info("Unipile settings saved by user %s", actor.pk)
        return Check(True, f"Saved. {check.message}")
    return check
