"""Local servers speaking vendors' documented APIs (Stripe, HubSpot, SCIM, Slack ...), for the
demo and the integration tests: real client libraries talk to them as to the vendor."""
