"""Operations: scheduled backups, retention of logs and events, durations for their options."""
