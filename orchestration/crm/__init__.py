"""Reverse ETL to the CRM: HubSpot sandbox, client, sync engine and field mapping."""
