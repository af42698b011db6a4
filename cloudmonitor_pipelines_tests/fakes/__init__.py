"""Test doubles: Azurite emulator helpers, fake Entra ID credentials, a fake Azure Resource Manager."""
