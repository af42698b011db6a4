"""Test doubles: Azurite emulator helpers, fake Entra ID credentials."""
