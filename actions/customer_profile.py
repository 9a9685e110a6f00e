"""Who the customer is, as an agent may see it: id, masked name and segment."""
from __future__ import annotations

from actions.agent_desk_client import CustomerContext
from bot.masking import mask_name
from actions.core_banking_client import CoreBankingError, get_client
from actions.knowledge import fragment
from bot.identity import Customer


def customer_context(customer: Customer) -> CustomerContext:
    try:
        profile = get_client().me(customer.token)
    except CoreBankingError:
        return CustomerContext(id=customer.customer_id, display_name=fragment("desk_profile_unavailable"), segment="")
    segment = fragment("desk_segment", customer_type=profile.customer_type.value, profile=profile.profile)
    return CustomerContext(id=customer.customer_id, display_name=mask_name(profile.name), segment=segment[:32])
