"""Azure clients: Entra ID credentials, the token guard, Resource Graph/Advisor over ARM, and recorded ARM pages."""
