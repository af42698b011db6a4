"""The Delta lake of a workspace and of the platform: tables, audit, inventory, retention, offboarding, views."""
