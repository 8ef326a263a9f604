"""CRM lead webhooks (HubSpot, Salesforce) -> lead_created / lead_updated.

`map_lead` is pure: one webhook item and the producer in, one canonical event out, or
AdapterError. An item is a CRM record, optionally wrapped in a small envelope that says what
happened when the record alone cannot:

    {"crm": "hubspot" | "salesforce",          optional: detected from the record's shape
     "change": "created" | "updated",          optional: else from the CRM's own signals
     "changed_properties": ["lifecyclestage"], optional: names in the CRM's spelling
     "previous": {"lifecyclestage": "lead"},   optional: values before the change
     "user_id": "usr_...",                     optional: the PromptFlow account matched
     "record": {...}}                          the HubSpot contact or Salesforce Lead

Records: HubSpot v3 objects (`{"id", "properties": {...}}`), HubSpot v1 contacts (`{"vid",
"properties": {"name": {"value": ...}}}`), Salesforce sObjects (`{"attributes": {"type":
"Lead"}, "Id", ...}`) and Salesforce Change Data Capture payloads (with `ChangeEventHeader`).
docs/adapters.md has the field tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry_service.adapters.common import (
    derived_uuid,
    http_url,
    mapping,
    producer_block,
    put,
    query_of,
    referral_block,
    text,
    timestamp,
)
from registry_service.adapters.errors import failed
from registry_service.model import Producer

SCHEMAS = {"lead_created": "lead_created/1.0.0", "lead_updated": "lead_updated/1.0.0"}
SDK_NAME = "refract-crm-adapter"

# HubSpot lifecyclestage internal values -> the contract's lifecycle_stage.
HUBSPOT_STAGES = {
    "subscriber": "subscriber",
    "lead": "lead",
    "marketingqualifiedlead": "marketing_qualified_lead",
    "salesqualifiedlead": "sales_qualified_lead",
    "opportunity": "opportunity",
    "customer": "customer",
    "evangelist": "evangelist",
    "other": "other",
}
# Salesforce Lead Status (folded: lowercase, letters only) -> lifecycle_stage. Statuses not
# listed are "other"; a custom Lifecycle_Stage__c field, when present, wins.
SALESFORCE_STATUSES = {
    "opennotcontacted": "lead",
    "open": "lead",
    "new": "lead",
    "workingcontacted": "lead",
    "working": "lead",
    "contacted": "lead",
    "nurturing": "lead",
    "mql": "marketing_qualified_lead",
    "marketingqualified": "marketing_qualified_lead",
    "marketingqualifiedlead": "marketing_qualified_lead",
    "sql": "sales_qualified_lead",
    "qualified": "sales_qualified_lead",
    "salesqualified": "sales_qualified_lead",
    "salesqualifiedlead": "sales_qualified_lead",
    "closedconverted": "opportunity",
    "converted": "opportunity",
    "closednotconverted": "other",
    "unqualified": "other",
    "disqualified": "other",
}


def map_lead(item: Any, *, producer: Producer, now: str) -> dict[str, Any]:
    """One webhook item as a lead_created or lead_updated event (see the module docstring)."""
    if not isinstance(item, Mapping):
        raise failed(f"/: a lead webhook item is a JSON object, found {type(item).__name__}")
    envelope, record, base = (
        (item, mapping(item.get("record")), "/record") if "record" in item else ({}, item, "")
    )
    if not record:
        raise failed(f"{base or '/'}: the CRM record is missing or not an object")
    crm = text(envelope.get("crm")) or _detect(record)
    if crm == "hubspot":
        fields = _hubspot(record, base)
    elif crm == "salesforce":
        fields = _salesforce(record, base)
    else:
        raise failed(f"/crm: {crm!r} is not a supported CRM (hubspot, salesforce)")
    change = (text(envelope.get("change")) or fields.pop("_change", None) or "").lower()
    fields.pop("_change", None)
    if not change:
        change = (
            "created"
            if fields.get("created_at") and fields.get("created_at") == fields.get("updated_at")
            else "updated"
        )
    if change not in ("created", "updated"):
        raise failed(f"/change: {change[:40]!r} is neither 'created' nor 'updated'")
    name = "lead_created" if change == "created" else "lead_updated"
    changed = envelope.get("changed_properties") or fields.pop("_changed", None)
    fields.pop("_changed", None)
    previous_stage = fields.pop("_previous_stage", None)
    if "previous" in envelope:
        previous_stage = _stage(crm, mapping(envelope["previous"])) or previous_stage

    lead_id, created_at = fields.get("lead_id"), fields.get("created_at")
    if lead_id is None:
        raise failed(f"{base}/id: the record has no id")
    if created_at is None:
        raise failed(f"{base}: the record has no creation time (createdate / CreatedDate)")
    updated_at = fields.get("updated_at") or created_at
    occurred = created_at if name == "lead_created" else updated_at
    event: dict[str, Any] = {
        "event_id": derived_uuid("crm", crm, lead_id, name, occurred),
        "schema": SCHEMAS[name],
        "event_name": name,
        "occurred_at": occurred,
        "sent_at": now,
        "source": "crm",
        "producer": producer_block(name, producer, SDK_NAME),
    }
    user_id = text(envelope.get("user_id"))
    put(event, "user", {"user_id": user_id} if user_id else None)
    first_touch = fields.pop("first_touch")
    put(
        event,
        "referral",
        referral_block(
            landing_url=first_touch.get("landing_url"),
            referrer_url=fields.get("original_referrer"),
            utm=first_touch,
        ),
    )
    event["crm"] = crm
    for key in (
        "lead_id",
        "lifecycle_stage",
        "owner",
        "email",
        "first_name",
        "last_name",
        "company",
        "original_source",
        "original_source_drill_down_1",
        "original_source_drill_down_2",
        "original_referrer",
    ):
        put(event, key, fields.get(key))
    put(event, "first_touch", first_touch)
    event["created_at"] = created_at
    if name == "lead_updated":
        event["updated_at"] = updated_at
        if not changed:
            raise failed(
                "/changed_properties: a lead update must say which properties changed "
                "(envelope changed_properties, HubSpot propertyName or Salesforce changedFields)"
            )
        if not isinstance(changed, list) or not all(isinstance(p, str) for p in changed):
            raise failed("/changed_properties: expected an array of property names")
        event["changed_properties"] = list(dict.fromkeys(changed))
        put(event, "previous_lifecycle_stage", previous_stage)
    return event


def _detect(record: Mapping[str, Any]) -> str | None:
    if "attributes" in record or "Id" in record or "ChangeEventHeader" in record:
        return "salesforce"
    if "properties" in record and any(
        k in record for k in ("id", "vid", "canonical-vid", "objectId")
    ):
        return "hubspot"
    return None


def _hubspot(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    raw = mapping(record.get("properties"))
    props = {k: (mapping(v).get("value") if isinstance(v, Mapping) else v) for k, v in raw.items()}
    fields: dict[str, Any] = {}
    lead_id = (
        text(record.get("id"))
        or text(record.get("vid"))
        or text(record.get("canonical-vid"))
        or text(record.get("objectId"))
    )
    fields["lead_id"] = lead_id
    fields["lifecycle_stage"] = _stage("hubspot", props)
    owner = text(props.get("hubspot_owner_id"))
    fields["owner"] = {"owner_id": owner} if owner else None
    fields["email"] = text(props.get("email"))
    fields["first_name"] = text(props.get("firstname"))
    fields["last_name"] = text(props.get("lastname"))
    fields["company"] = text(props.get("company"))
    fields["original_source"] = text(props.get("hs_analytics_source"))
    fields["original_source_drill_down_1"] = text(props.get("hs_analytics_source_data_1"))
    fields["original_source_drill_down_2"] = text(props.get("hs_analytics_source_data_2"))
    fields["original_referrer"] = text(props.get("hs_analytics_first_referrer"))
    landing = text(props.get("hs_analytics_first_url"))
    fields["first_touch"] = _first_touch(props, landing)
    created = props.get("createdate") or record.get("createdAt")
    updated = props.get("lastmodifieddate") or record.get("updatedAt")
    fields["created_at"] = (
        timestamp(created, f"{base}/properties/createdate") if created is not None else None
    )
    fields["updated_at"] = (
        timestamp(updated, f"{base}/properties/lastmodifieddate") if updated is not None else None
    )
    subscription = (text(record.get("subscriptionType")) or "").lower()
    if subscription.endswith(".creation"):
        fields["_change"] = "created"
    elif subscription.endswith(".propertychange"):
        fields["_change"] = "updated"
        name = text(record.get("propertyName"))
        fields["_changed"] = [name] if name else None
    return fields


def _salesforce(record: Mapping[str, Any], base: str) -> dict[str, Any]:
    header = mapping(record.get("ChangeEventHeader"))
    fields: dict[str, Any] = {}
    ids = header.get("recordIds")
    fields["lead_id"] = text(record.get("Id")) or (
        text(ids[0]) if isinstance(ids, list) and ids else None
    )
    fields["lifecycle_stage"] = _stage("salesforce", record)
    owner = text(record.get("OwnerId"))
    owner_email = text(mapping(record.get("Owner")).get("Email"))
    fields["owner"] = (
        {"owner_id": owner, **({"email": owner_email} if owner_email else {})} if owner else None
    )
    fields["email"] = text(record.get("Email"))
    name = mapping(record.get("Name"))  # CDC sends the compound Name field
    fields["first_name"] = text(record.get("FirstName")) or text(name.get("FirstName"))
    fields["last_name"] = text(record.get("LastName")) or text(name.get("LastName"))
    fields["company"] = text(record.get("Company"))
    fields["original_source"] = text(record.get("LeadSource"))
    custom = {k.lower(): v for k, v in record.items()}
    fields["original_source_drill_down_1"] = text(custom.get("lead_source_detail__c")) or text(
        custom.get("leadsourcedetail__c")
    )
    fields["original_referrer"] = text(custom.get("original_referrer__c")) or text(
        custom.get("referrer__c")
    )
    landing = text(custom.get("landing_page__c")) or text(custom.get("first_landing_page__c"))
    utm_props = {
        f: custom.get(f"{f}__c")
        for f in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
    }
    fields["first_touch"] = _first_touch(utm_props, landing)
    created = record.get("CreatedDate")
    updated = (
        record.get("SystemModstamp")
        or record.get("LastModifiedDate")
        or header.get("commitTimestamp")
    )
    fields["created_at"] = (
        timestamp(created, f"{base}/CreatedDate") if created is not None else None
    )
    fields["updated_at"] = (
        timestamp(updated, f"{base}/SystemModstamp") if updated is not None else None
    )
    change_type = (text(header.get("changeType")) or "").upper()
    if change_type == "CREATE":
        fields["_change"] = "created"
        if fields["created_at"] is None and header.get("commitTimestamp") is not None:
            fields["created_at"] = timestamp(
                header["commitTimestamp"], "/ChangeEventHeader/commitTimestamp"
            )
    elif change_type == "UPDATE":
        fields["_change"] = "updated"
        changed = header.get("changedFields")
        fields["_changed"] = changed if isinstance(changed, list) else None
    return fields


def _stage(crm: str, props: Mapping[str, Any]) -> str | None:
    """The normalised lifecycle stage of a record (or of an envelope's `previous`)."""
    if crm == "hubspot":
        value = text(props.get("lifecyclestage"))
        if value is None:
            return None
        return HUBSPOT_STAGES.get(value.strip().lower(), "other")
    custom = text(props.get("Lifecycle_Stage__c"))
    if custom is not None:
        folded = custom.strip().lower().replace(" ", "_").replace("-", "_")
        return folded if folded in HUBSPOT_STAGES.values() else "other"
    status = text(props.get("Status"))
    if status is None:
        return None
    folded = "".join(c for c in status.lower() if c.isalpha())
    return SALESFORCE_STATUSES.get(folded, "other")


def _first_touch(props: Mapping[str, Any], landing: str | None) -> dict[str, Any]:
    """UTM values from the CRM's fields, else from the first landing URL's query string."""
    query = query_of(landing)
    touch: dict[str, Any] = {}
    for field in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"):
        value = text(props.get(field)) or text(query.get(field))
        put(touch, field, value.strip()[:256] if value and value.strip() else None)
    put(touch, "landing_url", http_url(landing))
    return touch


def lead_items(body: Any) -> list[Any]:
    """The items of a /v1/crm/leads body: one item, an array, or {"leads": [...]}.

    HubSpot webhook subscriptions post arrays; Salesforce flows post single records.
    """
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and isinstance(body.get("leads"), list):
        return list(body["leads"])
    return [body]
