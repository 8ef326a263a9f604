"""CRM webhooks (HubSpot, Salesforce) -> lead_created / lead_updated."""

from __future__ import annotations

from typing import Any

import pytest

from registry_service.adapters import AdapterError
from registry_service.adapters.crm import lead_items, map_lead
from registry_service.model import Producer
from tests.adapters.conftest import NOW
from tests.adapters.contracts import errors

HUBSPOT = Producer("k_hs", "crm", "hubspot-sync")

HUBSPOT_V3 = {
    "id": "84213370551",
    "properties": {
        "email": "maria.keller@example.com",
        "firstname": "Maria",
        "lastname": "Keller",
        "company": "Keller Analytics GmbH",
        "lifecyclestage": "lead",
        "hubspot_owner_id": "512",
        "hs_analytics_source": "AI_REFERRALS",
        "hs_analytics_source_data_1": "chatgpt.com",
        "hs_analytics_source_data_2": "https://app.promptflow.io/pricing",
        "hs_analytics_first_referrer": "https://chatgpt.com/",
        "hs_analytics_first_url": "https://app.promptflow.io/pricing?utm_source=chatgpt.com&utm_medium=referral",
        "createdate": "2026-03-14T09:35:02.000Z",
        "lastmodifieddate": "2026-03-14T09:35:02.000Z",
    },
    "createdAt": "2026-03-14T09:35:02.000Z",
    "updatedAt": "2026-03-14T09:35:02.000Z",
    "archived": False,
}

SALESFORCE_LEAD = {
    "attributes": {"type": "Lead", "url": "/services/data/v60.0/sobjects/Lead/00Q5g00000ABcdEEAT"},
    "Id": "00Q5g00000ABcdEEAT",
    "Email": "li.wei@example.org",
    "FirstName": "Li",
    "LastName": "Wei",
    "Company": "Northwind Labs",
    "Status": "Working - Contacted",
    "OwnerId": "0055g00000XyZ12AAB",
    "Owner": {"Email": "jonas.weber@promptflow.io"},
    "LeadSource": "Web",
    "Lead_Source_Detail__c": "perplexity.ai",
    "Original_Referrer__c": "https://www.perplexity.ai/",
    "UTM_Source__c": "perplexity",
    "UTM_Medium__c": "referral",
    "Landing_Page__c": "https://app.promptflow.io/docs/ai-traffic",
    "CreatedDate": "2026-03-02T08:20:15.000+0000",
    "SystemModstamp": "2026-03-21T13:12:40.000+0000",
}


def lead(item: Any, producer: Producer = HUBSPOT) -> dict[str, Any]:
    event = map_lead(item, producer=producer, now=NOW)
    assert errors(event) == [], errors(event)
    return event


def test_hubspot_created() -> None:
    event = lead(HUBSPOT_V3)
    assert event["schema"] == "lead_created/1.0.0" and event["source"] == "crm"
    assert event["producer"]["team"] == "revops" and event["producer"]["app"] == "hubspot-sync"
    assert (event["crm"], event["lead_id"], event["lifecycle_stage"]) == (
        "hubspot",
        "84213370551",
        "lead",
    )
    assert event["owner"] == {"owner_id": "512"}
    assert (event["email"], event["first_name"], event["last_name"], event["company"]) == (
        "maria.keller@example.com",
        "Maria",
        "Keller",
        "Keller Analytics GmbH",
    )
    assert (
        event["original_source"],
        event["original_source_drill_down_1"],
        event["original_source_drill_down_2"],
    ) == ("AI_REFERRALS", "chatgpt.com", "https://app.promptflow.io/pricing")
    assert event["original_referrer"] == "https://chatgpt.com/"
    landing = HUBSPOT_V3["properties"]["hs_analytics_first_url"]
    assert event["first_touch"] == {
        "utm_source": "chatgpt.com",
        "utm_medium": "referral",
        "landing_url": landing,
    }
    assert event["referral"] == {
        "referrer_url": "https://chatgpt.com/",
        "landing_url": landing,
        "utm_source": "chatgpt.com",
        "utm_medium": "referral",
    }
    assert event["created_at"] == event["occurred_at"] == "2026-03-14T09:35:02.000Z"
    assert "user" not in event
    assert lead(HUBSPOT_V3)["event_id"] == event["event_id"]  # a retried webhook is the same event


def test_hubspot_v1_contact_update_with_envelope() -> None:
    record = {
        "vid": 42,
        "properties": {
            "lifecyclestage": {"value": "salesqualifiedlead"},
            "email": {"value": "a@example.com"},
            "createdate": {"value": "1772440815000"},
            "lastmodifieddate": {"value": "1774098760000"},
        },
    }
    item = {
        "change": "updated",
        "changed_properties": ["lifecyclestage"],
        "previous": {"lifecyclestage": "marketingqualifiedlead"},
        "user_id": "usr_1",
        "record": record,
    }
    event = lead(item)
    assert event["event_name"] == "lead_updated" and event["lead_id"] == "42"
    assert (event["lifecycle_stage"], event["previous_lifecycle_stage"]) == (
        "sales_qualified_lead",
        "marketing_qualified_lead",
    )
    assert event["changed_properties"] == ["lifecyclestage"]
    assert (
        event["created_at"] == "2026-03-02T08:40:15.000Z"
        and event["updated_at"] == event["occurred_at"]
    )
    assert event["user"] == {"user_id": "usr_1"}


def test_hubspot_custom_stage_is_other() -> None:
    record = {**HUBSPOT_V3, "properties": {**HUBSPOT_V3["properties"], "lifecyclestage": "1234567"}}
    assert lead(record)["lifecycle_stage"] == "other"


def test_salesforce_update_needs_changed_properties() -> None:
    with pytest.raises(AdapterError) as caught:
        map_lead(SALESFORCE_LEAD, producer=HUBSPOT, now=NOW)
    assert caught.value.reason == "adapter_failed" and "changed_properties" in caught.value.message
    event = lead({"changed_properties": ["Status", "OwnerId"], "record": SALESFORCE_LEAD})
    assert event["event_name"] == "lead_updated" and event["crm"] == "salesforce"
    assert event["lifecycle_stage"] == "lead"
    assert event["owner"] == {
        "owner_id": "0055g00000XyZ12AAB",
        "email": "jonas.weber@promptflow.io",
    }
    assert (
        event["original_source"],
        event["original_source_drill_down_1"],
        event["original_referrer"],
    ) == ("Web", "perplexity.ai", "https://www.perplexity.ai/")
    assert event["first_touch"] == {
        "utm_source": "perplexity",
        "utm_medium": "referral",
        "landing_url": "https://app.promptflow.io/docs/ai-traffic",
    }
    assert (event["created_at"], event["updated_at"]) == (
        "2026-03-02T08:20:15.000Z",
        "2026-03-21T13:12:40.000Z",
    )


def test_salesforce_change_data_capture() -> None:
    update = {
        "ChangeEventHeader": {
            "entityName": "Lead",
            "changeType": "UPDATE",
            "changedFields": ["Status", "LastModifiedDate"],
            "recordIds": ["00Q5g00000ABcdEEAT"],
            "commitTimestamp": 1774098760000,
        },
        "Status": "Qualified",
        "CreatedDate": "2026-03-02T08:20:15.000Z",
        "LastModifiedDate": "2026-03-21T13:12:40.000Z",
    }
    event = lead(update)
    assert (event["lead_id"], event["lifecycle_stage"], event["changed_properties"]) == (
        "00Q5g00000ABcdEEAT",
        "sales_qualified_lead",
        ["Status", "LastModifiedDate"],
    )
    create = {
        "ChangeEventHeader": {
            "changeType": "CREATE",
            "recordIds": ["00Q1"],
            "commitTimestamp": 1772440815000,
        },
        "Status": "Open - Not Contacted",
        "Name": {"FirstName": "Li", "LastName": "Wei"},
    }
    event = lead(create)
    assert (
        event["event_name"],
        event["lifecycle_stage"],
        event["first_name"],
        event["created_at"],
    ) == ("lead_created", "lead", "Li", "2026-03-02T08:40:15.000Z")


@pytest.mark.parametrize(
    ("status", "stage"),
    [
        ("Open - Not Contacted", "lead"),
        ("MQL", "marketing_qualified_lead"),
        ("Closed - Converted", "opportunity"),
        ("Closed - Not Converted", "other"),
        ("Something Custom", "other"),
    ],
)
def test_salesforce_status_mapping(status: str, stage: str) -> None:
    record = {**SALESFORCE_LEAD, "Status": status, "SystemModstamp": SALESFORCE_LEAD["CreatedDate"]}
    assert lead(record)["lifecycle_stage"] == stage


def test_hubspot_property_change_webhook_item() -> None:
    record = {
        **HUBSPOT_V3,
        "subscriptionType": "contact.propertyChange",
        "propertyName": "lifecyclestage",
        "properties": {**HUBSPOT_V3["properties"], "lastmodifieddate": "2026-03-20T10:00:00Z"},
    }
    event = lead(record)
    assert event["event_name"] == "lead_updated" and event["changed_properties"] == [
        "lifecyclestage"
    ]


@pytest.mark.parametrize(
    ("item", "text"),
    [
        ("lead", "a lead webhook item is a JSON object"),
        ({"foo": 1}, "not a supported CRM"),
        ({"crm": "pipedrive", "record": {"id": 1}}, "'pipedrive' is not a supported CRM"),
        ({"record": 5}, "/record: the CRM record is missing"),
        ({"id": "1", "properties": {"lifecyclestage": "lead"}}, "no creation time"),
        ({"change": "deleted", "record": HUBSPOT_V3}, "'deleted' is neither"),
        (
            {"id": "1", "properties": {"createdate": "last week"}},
            "/properties/createdate: 'last week' is not a timestamp",
        ),
    ],
)
def test_invalid_items(item: Any, text: str) -> None:
    with pytest.raises(AdapterError) as caught:
        map_lead(item, producer=HUBSPOT, now=NOW)
    assert caught.value.reason == "adapter_failed" and text in caught.value.message


def test_lead_items_shapes() -> None:
    assert lead_items([1, 2]) == [1, 2]
    assert lead_items({"leads": [3]}) == [3]
    assert lead_items({"id": "1"}) == [{"id": "1"}]
