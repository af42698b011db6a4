"""Optional enrichment: inventory from Resource Graph and Advisor, its join onto costs, and workspace residency."""
