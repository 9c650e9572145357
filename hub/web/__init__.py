"""The operators' pages, served by the hub (`/operator`)."""
