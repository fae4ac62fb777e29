"""The admin API under C{/api/} on the admin host: one Klein app per area, one router in front."""
