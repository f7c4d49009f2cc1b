"""Alert rules: conditions over metrics, channels, cooldown and acknowledgement."""
