"""Who the customer is, as an agent may see it: id, masked name and segment."""
from __future__ import annotations

from actions.agent_desk_client import CustomerContext
from bot.masking import mask_name
from actions.core_banking_client import CoreBankingError, get_client
from bot.identity import Customer


def customer_context(customer: Customer) -> CustomerContext:
    try:
        profile = get_client().me(customer.token)
    except CoreBankingError:
        return CustomerContext(id=customer.customer_id, display_name="（资料暂不可查）", segment="")
    return CustomerContext(id=customer.customer_id, display_name=mask_name(profile.name),
                           segment=f"{profile.customer_type.value}·{profile.profile}"[:32])
