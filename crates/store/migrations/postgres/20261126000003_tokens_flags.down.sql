DROP TABLE equipment_flags;
DROP TABLE api_tokens;
