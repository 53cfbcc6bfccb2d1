"""The virtual network of a spec (`network`: created here or brought by ID): subnets named by name, and the
address arithmetic the rules check. Reads schema-valid data; shared by the rules and the model."""

from __future__ import annotations

import ipaddress

# Learn (virtual-network/virtual-networks-faq, "What address ranges can I use in my VNets?"): "You cannot add the
# following address ranges: 224.0.0.0/4 (Multicast), 255.255.255.255/32 (Broadcast), 127.0.0.0/8 (Loopback),
# 169.254.0.0/16 (Link-local), 168.63.129.16/32 (Internal DNS)".
RESERVED_RANGES = tuple(ipaddress.ip_network(r) for r in
                        ("224.0.0.0/4", "255.255.255.255/32", "127.0.0.0/8", "169.254.0.0/16", "168.63.129.16/32"))
# Same page, "How small and how large can VNets and subnets be?": "The smallest supported IPv4 subnet is /29".
SMALLEST_SUBNET = 29


def _network(data: dict) -> dict:
    value = data.get("network")
    return value if isinstance(value, dict) else {}


def created(data: dict) -> dict | None:
    """network.create, or None."""
    value = _network(data).get("create")
    return value if isinstance(value, dict) else None


def created_subnets(data: dict) -> dict[str, dict]:
    return dict((created(data) or {}).get("subnets") or {})


def existing_network(data: dict) -> str | None:
    value = _network(data).get("existing")
    return value if isinstance(value, str) else None


def is_name(value: str) -> bool:
    """A `subnet:` that names a subnet of `network` (an ID starts with /subscriptions/)."""
    return not value.startswith("/")


def resolve_subnet(data: dict, value: str | None) -> str | None:
    """A `subnet:` as an ID where one is known offline: an ID as given; a name of a subnet of network.existing, that
    network's ID + /subnets/<name>. A name of a subnet network.create declares stays a name (its ID exists only in
    the template)."""
    if value is None or not is_name(value):
        return value
    existing = existing_network(data)
    if existing is not None and created(data) is None:
        return f"{existing.rstrip('/')}/subnets/{value}"
    return value


def address_space(data: dict) -> list[str]:
    space = (created(data) or {}).get("addressSpace") or []
    return [space] if isinstance(space, str) else list(space)


def cidr_problem(text: str) -> str | None:
    """Why `text` is not a range Azure accepts (None: it is)."""
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError as exc:
        return f"'{text}' is not an IPv4 range in CIDR notation ({exc})"
    if str(net) != text:
        # Azure refuses a prefix with host bits set (InvalidCIDRNotation) and names the range it means
        return f"'{text}' is not a network address: for a /{net.prefixlen} the range starts at {net}; write {net}"
    for reserved in RESERVED_RANGES:
        if net.overlaps(reserved):
            return f"'{text}' overlaps {reserved}, a range Azure reserves (multicast, broadcast, loopback, link-local or its internal DNS)"
    return None
